// Why a test of the PXE lab (src/lab/pxe-lab/) cannot run here, or false: QEMU and the kernel,
// dnsmasq and nginx, and root for the network namespace, bridge and taps. In CI a missing piece
// is a failure, never a skip (skipWithout and image-set's skip say so themselves).
import { skipWithout } from '../support/require-tool.ts';
import { skip as skipQemu } from './image-set.ts';

export const skipLab: string | false =
  skipQemu ||
  skipWithout('dnsmasq', ['--version'], 'apt-get install dnsmasq-base') ||
  skipWithout('nginx', ['-v'], 'apt-get install nginx-light') ||
  (process.getuid?.() === 0 || process.env.CI === 'true' ? false : 'needs root (network namespace, bridge, taps)');
