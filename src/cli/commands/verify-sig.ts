import { Command } from '@commander-js/extra-typings';
import { verifyUkiSignature } from '../../uki/sign-uki.js';

export const verifySigCommand = new Command('verify-sig')
  .description('check the Secure Boot (Authenticode) signature of an EFI file such as ramboot.efi against a certificate (sbverify)')
  .argument('<file>', 'the signed EFI executable')
  .requiredOption('--cert <file>', 'PEM certificate the signature must verify against')
  .action(async (file, opts) => {
    await verifyUkiSignature(file, opts.cert);
    process.stdout.write(`${file}: signature verifies against ${opts.cert}\n`);
  });
