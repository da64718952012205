// Test helpers: start a real hookwire server (python) on 127.0.0.1 and read its address.

import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const PYTHON = process.env.PYTHON ?? "python";

/**
 * Spawn a server and resolve `{address, port, proc, stop()}` once it printed its address.
 * @param {string[]} args arguments after `python`
 */
export function spawnServer(args) {
  const proc = spawn(PYTHON, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolveStart, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`server did not start in 20 s: ${stderr}`));
    }, 20000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /serving on (\S+):(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const address = `${m[1]}:${m[2]}`;
        resolveStart({
          address,
          port: Number(m[2]),
          proc,
          stop: () => stopProcess(proc),
          kill: () => stopProcess(proc, "SIGKILL"),
        });
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before printing its address: ${stderr}`));
    });
  });
}

/** `hookwire serve` on a free port (or `port`), optionally with a token. */
export function startCliServer({ token, port = 0 } = {}) {
  const args = ["-m", "hookwire.runtime.cli", "serve", "--host", "127.0.0.1", "--port", String(port), "--shutdown-grace", "2"];
  if (token) args.push("--token", token);
  return spawnServer(args);
}

/** The fixture server with a Python in-process hook `py_append` at custom:chain. */
export function startPythonHookServer({ token } = {}) {
  const args = ["sdk/js/test-support/serve_with_python_hooks.py"];
  if (token) args.push("--token", token);
  return spawnServer(args);
}

export function stopProcess(proc, signal = "SIGTERM") {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
    proc.once("exit", () => {
      clearTimeout(t);
      resolveStop();
    });
    proc.kill(signal);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns truthy (or throw after `ms`). */
export async function eventually(fn, ms = 5000, what = "condition") {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
