// Starts, watches and stops a real clinic-gateway daemon for the Node client tests (the Node
// counterpart of tests/integration/gateway_process.py).
//
// Hermetic: the daemon gets a temp dir, listens on 127.0.0.1 with port 0 (read back from its
// "listening on" log lines), and accepts one random bearer token; every wait is bounded.
//
//   const gw = new Gateway(binary, { name: 'x', sections: { mllp: { enabled: true, port: 0 } } });
//   await gw.start();      // resolves once the HTTP port (and the MLLP port, when enabled) is known
//   ...                    // gw.baseUrl, gw.token, gw.mllpPort, await gw.waitForLog(/re/)
//   await gw.stop();       // SIGTERM; resolves to { code, sig }
//   gw.cleanup();          // SIGKILL if still running, removes the temp dir (CG_TEST_KEEP=1 keeps it)

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export const START_TIMEOUT_MS = Number(process.env.CG_TEST_START_TIMEOUT || 60) * 1000;
export const STOP_TIMEOUT_MS = Number(process.env.CG_TEST_STOP_TIMEOUT || 60) * 1000;

const HTTP_LISTENING = /listening on http:\/\/127\.0\.0\.1:(\d+)\/fhir/;
const MLLP_LISTENING = /HL7v2 MLLP(?: over TLS)? listening on [0-9.]+:(\d+)/;

/** The daemon binary: argv[2], else $CG_BINARY; exits with a usage message otherwise. */
export function binaryFromArgv(argv = process.argv) {
  const binary = argv[2] || process.env.CG_BINARY;
  if (!binary) {
    console.error(`usage: node ${basename(argv[1])} <path to clinic-gateway> (or set CG_BINARY)`);
    process.exit(2);
  }
  accessSync(binary, constants.X_OK);
  return binary;
}

function tomlValue(v) {
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  return JSON.stringify(String(v)); // a JSON string is a valid TOML basic string
}

/** Rejects after `ms` with `message()` unless `promise` settles first; always clears its timer. */
export async function within(ms, promise, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(typeof message === 'function' ? message() : message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class Gateway {
  /**
   * `sections` adds TOML sections or keys to the defaults (node, log, http, auth), e.g.
   * { mllp: { enabled: true, port: 0 }, 'hl7.identifier_systems': { CLINIC: 'http://…' } }.
   */
  constructor(binary, { name = 'clients', sections = {} } = {}) {
    this.binary = binary;
    this.dir = mkdtempSync(join(tmpdir(), `cg-${name}-`));
    this.token = randomBytes(24).toString('base64url');
    this.log = '';
    this.logWaiters = new Set();
    const hash = createHash('sha256').update(this.token).digest('hex');
    const config = {
      node: { name, data_dir: 'data', shutdown_drain_ms: 5000 },
      log: { level: 'info' },
      http: {
        address: '127.0.0.1', port: 0, body_limit_bytes: 16777216,
        request_timeout_ms: 30000, idle_timeout_ms: 60000,
      },
      auth: { token_sha256: [hash] },
    };
    for (const [section, keys] of Object.entries(sections)) config[section] = { ...config[section], ...keys };
    this.mllpEnabled = config.mllp?.enabled === true;
    const lines = [];
    for (const [section, keys] of Object.entries(config)) {
      lines.push(`[${section}]`, ...Object.entries(keys).map(([k, v]) => `${k} = ${tomlValue(v)}`), '');
    }
    this.configPath = join(this.dir, 'gateway.toml');
    writeFileSync(this.configPath, lines.join('\n'));
  }

  start() {
    const env = { ...process.env };
    delete env.JOURNAL_STREAM;
    this.proc = spawn(this.binary, ['serve', '--config', this.configPath],
      { cwd: this.dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => {
      if (!this.stopping) {
        console.error(`# clinic-gateway died unexpectedly (${code ?? sig}); its log:\n${this.log.replace(/^/gm, '#   ')}`);
      }
      for (const w of this.logWaiters) w.reject(new Error(`daemon exited (${code ?? sig}) before logging ${w.re}`));
      this.logWaiters.clear();
      resolve({ code, sig });
    }));
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (chunk) => {
      this.log += chunk;
      for (const w of this.logWaiters) {
        const m = w.re.exec(this.log.slice(w.from));
        if (m) {
          this.logWaiters.delete(w);
          w.resolve(m);
        }
      }
    });
    // The MLLP line is logged before the HTTP one, so both are known once this resolves.
    const ready = this.waitForLog(HTTP_LISTENING, START_TIMEOUT_MS).then((m) => {
      this.port = Number(m[1]);
      this.baseUrl = `http://127.0.0.1:${this.port}/fhir`;
      if (this.mllpEnabled) {
        const mllp = MLLP_LISTENING.exec(this.log);
        if (!mllp) throw new Error(`the MLLP listener is enabled but its port was not logged:\n${this.log}`);
        this.mllpPort = Number(mllp[1]);
      }
    });
    return ready.catch((err) => {
      this.proc.kill('SIGKILL');
      throw new Error(`daemon did not start: ${err.message}:\n${this.log}`);
    });
  }

  /**
   * Resolves to the match of `re` in the log from offset `from` on (already there or still to
   * come: pass `gw.log.length` to wait for a new line); rejects after `timeoutMs`.
   */
  waitForLog(re, timeoutMs = START_TIMEOUT_MS, from = 0) {
    const m = re.exec(this.log.slice(from));
    if (m) return Promise.resolve(m);
    let waiter;
    const found = new Promise((resolve, reject) => {
      waiter = { re, from, resolve, reject };
      this.logWaiters.add(waiter);
    });
    return within(timeoutMs, found, () => `${re} not logged within ${timeoutMs} ms`)
      .finally(() => this.logWaiters.delete(waiter));
  }

  async stop() {
    this.stopping = true;
    this.proc.kill('SIGTERM');
    try {
      return await within(STOP_TIMEOUT_MS, this.exited, `daemon did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
    } catch (err) {
      this.proc.kill('SIGKILL');
      throw err;
    }
  }

  cleanup() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    if (process.env.CG_TEST_KEEP === '1') console.log(`(kept ${this.dir})`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
