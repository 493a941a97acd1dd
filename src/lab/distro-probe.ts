// The reporter a distribution boot test adds to a stock root (the test's root builder adds it,
// not ramboot): a systemd service that waits for the boot to settle, prints what the test
// asserts as `RAMBOOT-PROBE key value` lines, then powers off. The lines go to a second serial
// port (PROBE_TTY), not the console: serial-getty@ttyS0 is Type=idle, so it may start after the
// reporter and vhangup ttyS0, after which every write to the reporter's open console fails (one
// CI run lost the whole report that way). Nothing else uses ttyS1. It is
// Type=simple, so its own job finishes at once and `systemctl is-system-running --wait` inside
// it can return (a oneshot would be one of the jobs it waits for).

export const PROBE_SCRIPT_PATH = '/usr/local/sbin/ramboot-probe';
export const PROBE_UNIT = 'ramboot-probe.service';
/** The guest's second 16550 port; QEMU writes it to a file (probeSerialArgs). */
export const PROBE_TTY = '/dev/ttyS1';

/** QEMU arguments that add the reporter's port, written to `file` (no commas in the path). */
export function probeSerialArgs(file: string): string[] {
  if (file.includes(',')) throw new Error(`a QEMU serial file path cannot hold a comma: ${file}`);
  return ['-serial', `file:${file}`];
}

/** The benchmark's extra lines, after the uptime is taken (so they cost it nothing): where
 * systemd's time went, and ramboot's own stage report when ramboot booted the root. */
const ANALYZE_LINES = `systemd-analyze time --no-pager 2>&1 | while IFS= read -r line; do say analyze-time "$line"; done
systemd-analyze blame --no-pager 2>&1 | head -n 30 | while IFS= read -r line; do say blame "$line"; done
systemd-analyze critical-chain --no-pager 2>&1 | while IFS= read -r line; do say chain "$line"; done
if [ -r /run/ramboot/report.json ]; then say ramboot-report "$(tr -d '\\n' </run/ramboot/report.json)"; fi
`;

/** Runs under the root's /bin/sh (dash) with the root's own tools. `analyze` adds
 * systemd-analyze's time, blame and critical-chain (the benchmark; the tests do not wait for it). */
export function renderProbeScript(opts: { analyze?: boolean } = {}): string {
  return `#!/bin/sh
say() { printf 'RAMBOOT-PROBE %s %s\\n' "$1" "$2"; }
say state "$(systemctl is-system-running --wait 2>&1)"
say uptime "$(cut -d' ' -f1 /proc/uptime)"
systemctl list-units --failed --no-legend --plain --no-pager | while read -r unit _; do say failed "$unit"; done
for dev in /sys/class/net/*; do
  name=\${dev##*/}
  [ "$name" = lo ] && continue
  say nic "$name $(cat "$dev/address") $(cat "$dev/operstate")"
done
ip -o -4 addr show scope global | while read -r _ dev _ addr rest; do say addr "$dev $addr $rest"; done
say default-route "$(ip -4 route show default)"
say hostname "$(hostname)"
grep '^nameserver' /etc/resolv.conf | while read -r _ server _; do say dns "$server"; done
# Up to 10 s: ramboot's ECDSA key lands just after the boot settles, and the reload that follows
# re-execs sshd, which has no listener for that moment.
for _ in $(seq 10); do
  listening=$(ss -Hltn 'sport = :22' | wc -l)
  [ "$listening" -gt 0 ] && break
  sleep 1
done
say sshd-listening "$listening"
btime=$(sed -n 's/^btime //p' /proc/stat)
for key in /etc/ssh/ssh_host_*_key; do
  [ -e "$key" ] && say hostkey "\${key##*/} $(($(stat -c %Y "$key") - btime))"
done
# ramboot's ed25519 unit says whether the key was made in the initrd, while systemd started.
journalctl -b -u ramboot-ssh-host-keys.service --no-pager -o cat | grep -F 'host key:' | while IFS= read -r line; do say hostkey-log "$line"; done
say machine-id "$(cat /etc/machine-id)"
journalctl -b -p err --no-pager -o cat | while IFS= read -r line; do say journal-err "$line"; done
# A DHCP client the root runs in the background (ramboot's ifupdown stanza: dhclient -nw) may
# still be asking when the boot settles: up to 60 s for it to say it holds the lease.
for _ in $(seq 60); do
  set -- /run/dhclient*.pid
  [ -e "$1" ] || break
  journalctl -b --no-pager -o cat | grep -q '^bound to ' && break
  sleep 1
done
# ramboot's ECDSA and RSA host keys are made at idle priority, in that order, and may land after
# the boot settled: up to 120 s for the RSA one, then up to 30 s for sshd to offer it (it is
# reloaded as each key lands).
if [ -e /etc/systemd/system/ramboot-ssh-idle-host-keys.service ]; then
  for _ in $(seq 120); do
    [ -e /etc/ssh/ssh_host_rsa_key.pub ] && break
    sleep 1
  done
  for kind in ecdsa rsa; do
    key=/etc/ssh/ssh_host_\${kind}_key
    [ -e "$key" ] && say late-hostkey "\${key##*/} $(($(stat -c %Y "$key") - btime))"
  done
  for _ in $(seq 30); do
    served=$(ssh-keyscan -t rsa 127.0.0.1 2>/dev/null | grep -c ' ssh-rsa ')
    [ "$served" -gt 0 ] && break
    sleep 1
  done
  say rsa-served "$served"
  # Microseconds after boot: the idle unit's start, and when multi-user.target was reached.
  say idle-keys-start "$(systemctl show -p ExecMainStartTimestampMonotonic --value ramboot-ssh-idle-host-keys.service) $(systemctl show -p ActiveEnterTimestampMonotonic --value multi-user.target)"
fi
journalctl -b --no-pager -o cat | grep -Ei 'dhcp|lease' | while IFS= read -r line; do say dhcp-log "$line"; done
# Which network stack holds the boot NIC now (for the log; ifquery is ifupdown's).
command -v ifquery >/dev/null && say ifupdown-state "$(ifquery --state 2>&1 | tr '\n' ' ')"
command -v nmcli >/dev/null && say nm-devices "$(nmcli -t -f DEVICE,STATE,CONNECTION device 2>&1 | tr '\n' ' ')"
${opts.analyze ? ANALYZE_LINES : ''}# Last, as it changes what the lines above read: ramboot's boot NIC unit is part of
# networking.service, so a restart of that (whose ifdown -a takes the NIC down too) brings the NIC
# back; up to 30 s for dhclient to have its address again.
if systemctl -q is-active ramboot-boot-nic.service; then
  systemctl restart networking.service
  for _ in $(seq 30); do
    now=$(ip -o -4 addr show scope global | while read -r _ dev _ addr _; do echo "$dev $addr"; done)
    [ -n "$now" ] && break
    sleep 1
  done
  say restart-networking "$(systemctl is-active ramboot-boot-nic.service) $now"
fi
say 'done' 1
systemctl poweroff --no-block
`;
}

export function renderProbeUnit(): string {
  return `[Unit]
Description=ramboot distribution boot test reporter
After=multi-user.target

[Service]
Type=simple
ExecStart=${PROBE_SCRIPT_PATH}
StandardOutput=tty
StandardError=tty
TTYPath=${PROBE_TTY}
TTYReset=no
TTYVHangup=no

[Install]
WantedBy=multi-user.target
`;
}

export interface ProbeReport {
  done: boolean;
  state?: string;
  uptime?: number;
  failed: string[];
  nics: { name: string; mac: string; operstate: string }[];
  addrs: { dev: string; cidr: string; rest: string }[];
  defaultRoute?: string;
  hostname?: string;
  dns: string[];
  sshdListening?: number;
  /** Host key file -> seconds after boot it was written (negative: older than this boot). */
  hostKeys: Record<string, number>;
  /** ramboot-ssh-host-keys.service's own lines ("ed25519 host key: made in the initrd"). */
  hostKeyLog: string[];
  /** ramboot's ECDSA and RSA host keys, waited for after the boot settled: seconds after boot each was written. */
  lateHostKeys: Record<string, number>;
  /** ramboot-boot-nic.service's state and the boot NIC's `dev cidr` after `systemctl restart networking`. */
  restartNetworking?: string;
  /** When ramboot-ssh-idle-host-keys.service started and multi-user.target was reached, µs after boot. */
  idleKeysStart?: { startUs: number; multiUserUs: number };
  /** RSA host keys sshd offered (ssh-keyscan -t rsa) once that key existed. */
  rsaServed?: number;
  machineId?: string;
  journalErrors: string[];
  dhcpLog: string[];
  /** With `analyze`: systemd-analyze's own lines, and /run/ramboot/report.json as one line. */
  analyzeTime: string[];
  blame: string[];
  chain: string[];
  rambootReport?: string;
}

/** The `RAMBOOT-PROBE` lines of a console log (anywhere on a line: getty may share it). */
export function parseProbe(output: string): ProbeReport {
  const report: ProbeReport = { done: false, failed: [], nics: [], addrs: [], dns: [], hostKeys: {}, hostKeyLog: [], lateHostKeys: {}, journalErrors: [], dhcpLog: [], analyzeTime: [], blame: [], chain: [] };
  for (const match of output.matchAll(/RAMBOOT-PROBE (\S+) ?([^\n]*)/g)) {
    const key = match[1]!;
    const value = match[2]!.trim();
    const words = value.split(/\s+/);
    switch (key) {
      case 'done': report.done = true; break;
      case 'state': report.state = value; break;
      case 'uptime': report.uptime = Number(value); break;
      case 'failed': report.failed.push(value); break;
      case 'nic': report.nics.push({ name: words[0] ?? '', mac: words[1] ?? '', operstate: words[2] ?? '' }); break;
      case 'addr': report.addrs.push({ dev: words[0] ?? '', cidr: words[1] ?? '', rest: words.slice(2).join(' ') }); break;
      case 'default-route': report.defaultRoute = value; break;
      case 'hostname': report.hostname = value; break;
      case 'dns': report.dns.push(value); break;
      case 'sshd-listening': report.sshdListening = Number(value); break;
      case 'hostkey': report.hostKeys[words[0] ?? ''] = Number(words[1]); break;
      case 'hostkey-log': report.hostKeyLog.push(value); break;
      case 'late-hostkey': report.lateHostKeys[words[0] ?? ''] = Number(words[1]); break;
      case 'idle-keys-start': report.idleKeysStart = { startUs: Number(words[0]), multiUserUs: Number(words[1]) }; break;
      case 'rsa-served': report.rsaServed = Number(value); break;
      case 'restart-networking': report.restartNetworking = value; break;
      case 'machine-id': report.machineId = value; break;
      case 'journal-err': report.journalErrors.push(value); break;
      case 'dhcp-log': report.dhcpLog.push(value); break;
      case 'analyze-time': report.analyzeTime.push(value); break;
      case 'blame': report.blame.push(value); break;
      // Untrimmed: the tree's indent is the chain's depth.
      case 'chain': report.chain.push(match[2]!); break;
      case 'ramboot-report': report.rambootReport = value; break;
    }
  } // prettier-ignore
  return report;
}
