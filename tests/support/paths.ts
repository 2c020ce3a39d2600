import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests/support/../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The read-only ground truth beside the checkout: ../shared, or $BINDERY_SHARED. */
export const SHARED_DIR = process.env.BINDERY_SHARED ?? path.resolve(REPO_ROOT, '..', 'shared');

export const FIXTURES_DIR = path.join(SHARED_DIR, 'fixtures', 'imagebind');
export const ORACLE_DIR = path.join(SHARED_DIR, 'oracles');
export const BPE_VOCAB = path.join(SHARED_DIR, 'vocab', 'bpe_simple_vocab_16e6.txt.gz');
export const TEST_PACK_DIR = path.join(REPO_ROOT, 'models', 'test-pack');

export function requireShared(): void {
  if (!existsSync(FIXTURES_DIR))
    throw new Error(`shared fixtures not found at ${SHARED_DIR}; set BINDERY_SHARED`);
}
