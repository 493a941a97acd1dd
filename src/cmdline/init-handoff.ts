// Which words of a command line the kernel keeps and which it hands to init, by the rules of
// init/main.c (unknown_bootoption, set_init_arg, init_setup), so lint can warn before the
// kernel panics with "Too many boot init vars" / "Too many boot env vars":
//  - parse_args() offers each word to the kernel's built-in parameters and its __setup /
//    early_param handlers first; a word one of them takes stays in the kernel (KERNEL_NAMES);
//  - a word whose name holds a '.' is a module parameter (net.ifnames=0, rd.break): left in
//    /proc/cmdline for modprobe and udev, never passed;
//  - any other `name=value` goes to init's environment, a later word of the same name replacing
//    the earlier one in place (strncmp on `name=`);
//  - a word without '=' goes to init's arguments; `init=` (and `rdinit=`) drops those collected
//    before it (init_setup: "ignore all arguments entered before init=");
//  - after `--`, every word is an argument, '=' or '.' or not (set_init_arg).
// The kernel's tables are argv_init[MAX_INIT_ARGS+2] = { "init" } and
// envp_init[MAX_INIT_ENVS+2] = { "HOME=/", "TERM=linux" }, MAX_INIT_* = CONFIG_INIT_ENV_ARG_LIMIT
// = 32 on x86 and arm64; adding a word while 33 entries are set panics. So 32 arguments and 31
// environment words of ours fit.
import type { LintFinding } from './lint.js';
import { splitKernelWords, toCmdlineWord } from './parse.js';

export const MAX_INIT_ARGS = 32;
export const MAX_INIT_ENVS = 32;
/** Entries the kernel's tables may hold: MAX + 1 (the last slot stays NULL). */
const TABLE_ENTRIES = 33;
export const INIT_ARG_ROOM = TABLE_ENTRIES - 1; // besides argv[0] "init"
export const INIT_ENV_ROOM = TABLE_ENTRIES - 2; // besides HOME=/ and TERM=linux

/**
 * Names the kernel takes itself (a `name=` handler or a bare flag), the common ones on x86 and
 * arm64 distribution kernels. A name missing here is counted as going to init: the warning errs
 * towards the panic. ip= is not here: the kernel takes it only when built with CONFIG_IP_PNP,
 * which Debian's kernels are not.
 */
const KERNEL_NAMES = new Set([
  'acpi', 'apparmor', 'audit', 'cgroup_disable', 'cgroup_enable', 'cgroup_no_v1', 'clocksource', 'console', 'consoleblank',
  'crashkernel', 'debug', 'default_hugepagesz', 'earlycon', 'earlyprintk', 'efi', 'elevator', 'enforcing', 'fbcon',
  'hugepages', 'hugepagesz', 'ignore_loglevel', 'init', 'initcall_debug', 'initrd', 'intel_iommu', 'amd_iommu', 'iommu',
  'irqaffinity', 'isolcpus', 'kaslr', 'log_buf_len', 'loglevel', 'lsm', 'maxcpus', 'mem', 'memmap', 'mitigations',
  'module_blacklist', 'nmi_watchdog', 'noapic', 'noinitrd', 'nokaslr', 'nolapic', 'nomodeset', 'nohz_full', 'nopti',
  'noresume', 'nosmp', 'nr_cpus', 'numa', 'panic', 'pci', 'possible_cpus', 'pti', 'quiet', 'rcu_nocbs', 'rdinit',
  'reboot', 'resume', 'resume_offset', 'ro', 'root', 'rootdelay', 'rootflags', 'rootfstype', 'rootwait', 'rw',
  'security', 'selinux', 'spectre_v2', 'transparent_hugepage', 'tsc', 'vga', 'video',
]);

export interface InitHandoff {
  /** Words init gets as arguments (after argv[0]), in order. */
  args: string[];
  /** Words init gets as environment, one per name, besides HOME and TERM. */
  env: string[];
  /** Environment entries in all, HOME and TERM included. */
  envTotal: number;
  /** Words the kernel takes itself. */
  kernel: string[];
  /** Module parameters: kept in /proc/cmdline, never passed. */
  module: string[];
}

export function handOffWords(cmdline: string): InitHandoff {
  const args: string[] = [];
  const env: string[] = ['HOME=/', 'TERM=linux'];
  const kernel: string[] = [];
  const module: string[] = [];
  let afterDashes = false;
  for (const word of splitKernelWords(cmdline)) {
    if (afterDashes) {
      args.push(word);
      continue;
    }
    if (word === '--') {
      afterDashes = true;
      continue;
    }
    const { key, value } = toCmdlineWord(word);
    // parameq()/parameqn(): - and _ are the same in the kernel's own names.
    if (KERNEL_NAMES.has(key.replaceAll('-', '_'))) {
      kernel.push(word);
      if ((key === 'init' || key === 'rdinit') && value !== undefined) args.length = 0;
    } else if (key.includes('.')) {
      module.push(word);
    } else if (value === undefined) {
      args.push(word);
    } else {
      const same = env.findIndex((e) => e.startsWith(`${key}=`));
      if (same >= 0) env[same] = word;
      else env.push(word);
    }
  }
  return { args, env: env.filter((e) => !/^(HOME|TERM)=/.test(e)), envTotal: env.length, kernel, module };
}

export function checkInitHandoff(cmdline: string): LintFinding[] {
  const h = handOffWords(cmdline);
  const findings: LintFinding[] = [];
  if (h.args.length > INIT_ARG_ROOM) {
    findings.push({
      level: 'warning',
      code: 'too-many-init-args',
      message: `${h.args.length} words go to init as arguments (words without '=' the kernel does not know, and all after --); past ${INIT_ARG_ROOM} the kernel panics "Too many boot init vars at \`${h.args[INIT_ARG_ROOM]}'"`,
    });
  }
  if (h.env.length > INIT_ENV_ROOM) {
    findings.push({
      level: 'warning',
      code: 'too-many-init-env',
      message: `${h.env.length} names go to init's environment (name=value words the kernel does not know, with no '.' in the name); past ${INIT_ENV_ROOM} besides HOME and TERM the kernel panics "Too many boot env vars at \`${h.env[INIT_ENV_ROOM]}'"`,
    });
  }
  return findings;
}
