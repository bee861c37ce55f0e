'use strict';
/**
 * The PyTorch side as a long-lived child process (bench/reference.py, JSON lines), so that
 * bench/run.js can time each case on both sides back to back: both then see the same machine
 * load, which matters on a shared machine more than any other source of noise.
 */
const { spawn } = require('child_process');
const path = require('path');
const readline = require('readline');

class PythonSide {
  /** Resolves to a PythonSide, or to { error } when Python or its torch is not usable. */
  static async start(python, threads, env) {
    const side = new PythonSide(python, threads, env);
    const hello = await side.next().catch((error) => ({ error: error.message }));
    if (hello.error) {
      side.close();
      return { error: hello.error };
    }
    side.info = hello;
    return side;
  }

  constructor(python, threads, env) {
    this.stderr = '';
    this.waiting = [];
    this.lines = [];
    this.exited = null;
    this.proc = spawn(python, [path.join(__dirname, 'reference.py'), '--threads', String(threads)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
    });
    this.proc.on('error', (error) => this.finish(error.code === 'ENOENT' ? `${python} not found` : error.message));
    this.proc.stdin.on('error', () => {}); // EPIPE after an exit: 'exit' says what happened
    this.proc.on('exit', (code, signal) => this.finish(`${python} bench/reference.py exited with ${code ?? signal}`));
    this.proc.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(line);
      else this.lines.push(line);
    });
  }

  finish(message) {
    if (this.exited) return;
    const tail = this.stderr.trim().split('\n').slice(-3).join(' | ');
    this.exited = tail ? `${message}: ${tail}` : message;
    for (const w of this.waiting.splice(0)) w.reject(new Error(this.exited));
  }

  /** The next JSON line from the child. */
  async next() {
    const line = this.lines.length
      ? this.lines.shift()
      : await new Promise((resolve, reject) => {
          if (this.exited) reject(new Error(this.exited));
          else this.waiting.push({ resolve, reject });
        });
    return JSON.parse(line);
  }

  /** One request; resolves to the reply (which may be { error }). */
  async request(message) {
    if (this.exited) return { error: this.exited };
    this.proc.stdin.write(`${JSON.stringify(message)}\n`);
    return this.next().catch((error) => ({ error: error.message }));
  }

  close() {
    if (!this.exited && this.proc.stdin.writable) this.proc.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
  }
}

module.exports = { PythonSide };
