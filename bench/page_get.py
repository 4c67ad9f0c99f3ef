"""The in-page measurement both browser benchmarks run (browser_get.py, tester_get.py): n
`navigator.credentials.get()` calls for a discoverable credential of localhost, each timed."""

MEASURE = """async (n) => {
    const times = [];
    for (let i = 0; i < n; i++) {
        const options = {challenge: crypto.getRandomValues(new Uint8Array(32)),
                         rpId: 'localhost', userVerification: 'discouraged'};
        const start = performance.now();
        await navigator.credentials.get({publicKey: options});
        times.push(performance.now() - start);
    }
    return times;
}"""
