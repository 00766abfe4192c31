// Processes, ports and bounded waits, for the server (lib/server.mjs) and the WebDriver
// browser (lib/webkit.mjs).  Processes are stopped by pid only.

import fs from 'node:fs';
import net from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Running (a zombie, dead but not yet reaped by its parent, is not).
export function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function signal(pid, sig) {
  try { process.kill(pid, sig); } catch { /* gone */ }
}

// SIGTERM to every pid of PIDS still alive, then up to MS ms for them to go, then SIGKILL;
// returns the pids that needed SIGKILL.
export async function stopPids(pids, ms) {
  const live = pids.filter(alive);
  for (const p of live) signal(p, 'SIGTERM');
  const end = Date.now() + ms;
  while (live.some(alive) && Date.now() < end) await sleep(50);
  const stubborn = live.filter(alive);
  for (const p of stubborn) signal(p, 'SIGKILL');
  return stubborn;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
