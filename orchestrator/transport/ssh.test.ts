import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshTransportOptions, startSshd, type TestSshd } from '../../test/sshd.js';
import { HOSTILE } from './hostile-values.js';
import { SshTransport } from './ssh.js';

describe('SshTransport against a real sshd', () => {
  let a: TestSshd;
  let b: TestSshd;
  let t: SshTransport;
  beforeAll(async () => {
    [a, b] = await Promise.all([startSshd(), startSshd()]);
    t = new SshTransport(sshTransportOptions(a, 'n1', { killGraceMs: 300 }));
    await t.start();
  });
  afterAll(async () => {
    await t?.shutdown();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('runs commands with exit code, lines, env, cwd and stdin', async () => {
    const lines: string[] = [];
    const r = await t.exec(['sh', '-c', 'echo "$X"; pwd; cat; echo err >&2; exit 4', 'sh'], {
      env: { X: "it's $(id)" },
      cwd: '/tmp',
      stdin: 'in',
      onLine: (s, l) => lines.push(`${s}:${l}`),
    });
    expect(r).toMatchObject({ code: 4, signal: null });
    expect(r.stdout).toBe("it's $(id)\n/tmp\nin");
    expect(r.stderr).toBe('err\n');
    expect(lines).toContain('stderr:err');
    expect(lines).toContain("stdout:it's $(id)");
  });

  it('passes hostile arguments through the remote shell literally', async () => {
    const r = await t.exec(['printf', '%s\\0', ...HOSTILE]);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(HOSTILE);
    expect(existsSync(`/tmp/pwned-${process.pid}`)).toBe(false);
  });

  it('kills the remote process group on abort and on timeout', async () => {
    const ac = new AbortController();
    const pidFile = `${a.dir}/child`;
    const p = t.exec(['sh', '-c', `sleep 30 & echo $! > ${pidFile}; trap '' TERM; wait`], { signal: ac.signal });
    while (!existsSync(pidFile) || !readFileSync(pidFile, 'utf8').trim()) await new Promise((r) => setTimeout(r, 20));
    const child = Number(readFileSync(pidFile, 'utf8'));
    ac.abort();
    await expect(p).rejects.toThrow(/on node n1 was aborted/);
    const gone = () => { try { process.kill(child, 0); return false; } catch { return true; } };
    for (let i = 0; i < 50 && !gone(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(gone()).toBe(true);
    await expect(t.exec(['sleep', '10'], { timeoutMs: 200 })).rejects.toThrow(/did not finish within 200 ms/);
  });

  it('refuses a host whose key does not match the known_hosts entry', async () => {
    const wrong = `[127.0.0.1]:${b.port} ${a.knownHostsLine.split(' ').slice(1).join(' ')}`; // b's address, a's key
    const bad = new SshTransport({ node: 'n2', host: b.host, port: b.port, user: b.user, privateKeyPath: b.privateKeyPath, knownHosts: wrong });
    await expect(bad.start()).rejects.toThrow(new RegExp(`node n2 \\(.*@127\\.0\\.0\\.1:${b.port}\\): cannot connect: host key verification failed: the server presented ssh-ed25519 SHA256:.*expects ssh-ed25519 SHA256:`));
    const unnamed = new SshTransport({ node: 'n2', host: b.host, port: b.port, user: b.user, privateKeyPath: b.privateKeyPath, knownHosts: `otherhost ${b.knownHostsLine.split(' ').slice(1).join(' ')}` });
    await expect(unnamed.start()).rejects.toThrow(/does not name \[127\.0\.0\.1\]:\d+/);
    const good = new SshTransport(sshTransportOptions(b, 'n2'));
    await good.start();
    expect((await good.exec(['echo', 'ok'])).stdout).toBe('ok\n');
    await good.shutdown();
  });

  it('names the node and address when it cannot connect or authenticate', async () => {
    const closed = new SshTransport({ node: 'gone', host: '127.0.0.1', port: 1, user: 'root', privateKeyPath: a.privateKeyPath, knownHosts: a.knownHostsLine.replace(/:\d+/, ':1') });
    await expect(closed.start()).rejects.toThrow(/node gone \(root@127\.0\.0\.1:1\): cannot connect: .*ECONNREFUSED/);
    const wrongKey = new SshTransport({ node: 'n1', host: a.host, port: a.port, user: a.user, privateKeyPath: b.privateKeyPath, knownHosts: a.knownHostsLine });
    await expect(wrongKey.start()).rejects.toThrow(/cannot connect: authentication as .* failed/);
    expect(() => new SshTransport({ node: 'x', host: 'h', user: 'u', knownHosts: 'h ssh-ed25519 !!!' })).toThrow(/node x: known_hosts entry: the key "!!!"/);
  });
});
