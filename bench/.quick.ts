import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
async function run(env: Record<string,string>, label: string) {
  const child = spawn(process.execPath, ['dist/app/main.js'], { cwd: '/work/main', env: { PATH: process.env.PATH!, STORE: 'memory', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore','pipe','pipe'] });
  let out=''; child.stderr!.on('data', d => out += d);
  const url: string = await new Promise((res) => child.stdout!.on('data', (d) => { out += d; const m = /listening on (http:\/\/[\d.:]+)/.exec(out); if (m) res(m[1]); }));
  let i = 0;
  const req = [{ method: 'PUT' as const, setupRequest: (r: any) => ({ ...r, path: `/events/d${i++ % 10000}.b.com/delivered` }) }];
  await autocannon({ url, connections: 100, duration: 2, requests: req });
  const cpu = () => { const f = require('fs').readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
  const c0 = cpu();
  const r = await autocannon({ url, connections: 100, duration: 5, requests: req });
  const c1 = cpu();
  console.log(label.padEnd(30), Math.round(r.requests.average), 'p99', r.latency.p99, 'cpu us/req', ((c1 - c0) * 1000 / r.requests.total).toFixed(1));
  child.kill('SIGTERM'); await new Promise(r => child.on('exit', r));
  if (out.includes('opentelemetry')) console.log(out.split('\n').filter(l => l.includes('opentelemetry')).slice(0,3).join('\n'));
}
(async () => {
  const variants: [string, Record<string,string>][] = JSON.parse(process.argv[2]);
  for (let k = 0; k < 2; k++) for (const [l, e] of variants) await run(e, l);
})();
