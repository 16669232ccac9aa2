/**
 * Preloaded (`node --import`) into every validator the devnet supervisor starts: when the
 * supervisor dies, however it dies (SIGKILL included, when no exit hook of its own can run), the
 * pipe it holds to our stdin closes, and we send ourselves SIGTERM — the validator's own clean
 * shutdown. A devnet therefore never leaves validators running with nobody to stop them.
 *
 * The stdin handle is unref'd so that it never keeps a validator alive that has stopped. Writes to
 * stdout (the ready and stopped lines) fail with EPIPE once the supervisor is gone; that must not
 * turn a clean shutdown into a crash, so stdout errors are ignored.
 */
process.stdout.on('error', () => {});
const input = process.stdin;
input.on('error', () => {});
input.on('data', () => {});
input.once('end', () => process.kill(process.pid, 'SIGTERM'));
input.resume();
(input as unknown as { unref?: () => void }).unref?.();
