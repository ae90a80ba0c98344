import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/exec/run.js';
import type { OfflineRpmRepo } from './build-rpm-repo.js';

/**
 * A signed copy of some of the offline repository's packages: a throwaway GPG key (no
 * passphrase, in its own GNUPGHOME), `rpmsign --addsign`, createrepo_c. Small packages only:
 * signing rewrites each file.
 */
export interface SignedRepo {
  dir: string;
  /** The armoured public key. */
  publicKey: string;
  cleanup(): Promise<void>;
}

const KEY_NAME = 'isobuild test signing key <rpm-test@isobuild.invalid>';

export async function makeSignedRepo(
  source: OfflineRpmRepo,
  packages: readonly string[],
  opts: { signRepomd?: boolean } = {},
): Promise<SignedRepo> {
  const base = await mkdtemp(join(tmpdir(), 'isobuild-rpm-signed-'));
  const cleanup = () => rm(base, { recursive: true, force: true });
  try {
    const gnupg = join(base, 'gnupg');
    const dir = join(base, 'repo');
    await mkdir(gnupg, { mode: 0o700 });
    await mkdir(dir);
    const env = { GNUPGHOME: gnupg };
    await run(
      'gpg',
      ['--batch', '--passphrase', '', '--quick-generate-key', KEY_NAME, 'rsa2048', 'sign', 'never'],
      { env, stage: 'signed rpm repo' },
    );
    const publicKey = join(base, 'RPM-GPG-KEY-isobuild-test');
    const exported = await run('gpg', ['--batch', '--armor', '--export', KEY_NAME], { env });
    await writeFile(publicKey, exported.stdout);

    const files: string[] = [];
    for (const f of await readdir(source.dir))
      if (packages.some((p) => f.startsWith(`${p}-`) && f.endsWith('.rpm'))) {
        await copyFile(join(source.dir, f), join(dir, f));
        files.push(join(dir, f));
      }
    // Debian's rpm looks for gpg2, which Debian no longer ships under that name.
    const gpg = (await run('sh', ['-c', 'command -v gpg'])).stdout.trim();
    await run(
      'rpmsign',
      [
        '--addsign',
        '--define',
        `__gpg ${gpg}`,
        '--define',
        `_gpg_name ${KEY_NAME}`,
        '--define',
        `_gpg_path ${gnupg}`,
        ...files,
      ],
      { env, stage: 'signed rpm repo' },
    );
    await run('createrepo_c', ['--quiet', dir], { stage: 'signed rpm repo' });
    // repo_gpgcheck's signature: repomd.xml.asc beside repomd.xml, as signed repositories publish it.
    if (opts.signRepomd)
      await run(
        'gpg',
        ['--batch', '--armor', '--detach-sign', '--local-user', KEY_NAME, join(dir, 'repodata/repomd.xml')],
        { env, stage: 'signed rpm repo' },
      );
    return { dir, publicKey, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  } finally {
    // Stop the agent key generation started, so no process outlives the test.
    await run('gpgconf', ['--kill', 'gpg-agent'], {
      env: { GNUPGHOME: join(base, 'gnupg') },
      allowFailure: true,
    });
  }
}
