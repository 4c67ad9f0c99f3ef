#!/bin/sh
# Recipe: vauth as a USB security key for tools that open /dev/hidraw (ssh-keygen, libfido2).
# Needs Linux with /dev/uhid readable and writable by you (root, or a udev rule such as
#   KERNEL=="uhid", GROUP="plugdev", MODE="0660"), and OpenSSH built with FIDO support.
#
#   sh examples/ssh_keygen_uhid.sh /tmp/id_vauth
set -eu
key="${1:-./id_ed25519_sk}"
vauth serve --ephemeral --presence auto --no-http --uhid --socket "${TMPDIR:-/tmp}/vauth-uhid.sock" &
daemon=$!
trap 'kill "$daemon"' EXIT INT TERM
sleep 2  # the kernel announces the new HID device; udev makes its /dev/hidraw node
ssh-keygen -q -t ed25519-sk -N '' -f "$key"
ssh-keygen -l -f "$key.pub"
