// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Status } from '../../app/api.js';
import type { IndexProgress, IndexSummary } from '../../app/indexing.js';
import { emptySummary } from '../../app/indexing.js';
import { App } from '../../renderer/src/App.js';
import { TEST_PACK_MESSAGE } from '../../renderer/src/components/StatusBar.js';
import { mockClient } from './helpers.js';

afterEach(cleanup);

const counts = (indexed: number, pending = 0, failed = 0) => ({ pending, indexed, failed, missing: 0 });

function libraryClient() {
  const { client } = mockClient(3);
  let status: Status | null = null;
  let emit: (p: IndexProgress) => void = () => undefined;
  let finish: (s: IndexSummary) => void = () => undefined;
  const index = vi.fn(() => new Promise<IndexSummary>((r) => (finish = r)));
  const cancelIndex = vi.fn(async () => {
    finish(emptySummary());
    return { cancelled: true };
  });
  const addRoot = vi.fn(async ({ path }: { path: string }) => {
    if (path === '/nope') throw { code: 'invalid_request', message: 'no such folder: /nope' };
    status!.roots.push({
      id: 2,
      path,
      status: 'online',
      lastScanAt: null,
      files: counts(0),
      unreachable: [],
      unreachableTotal: 0,
      skipped: [],
      skippedTotal: 0,
    });
    return status!.roots[1];
  });
  const removeRoot = vi.fn(async () => ({ removed: 3 }));
  const c = {
    ...client,
    status: async () => {
      if (!status) {
        const base = await client.status();
        status = {
          ...base,
          files: counts(10, 2, 1),
          model: { ...base.model, testPack: true },
          roots: [
            {
              id: 1,
              path: '/photos',
              status: 'offline',
              lastScanAt: null,
              files: counts(10, 2, 1),
              unreachable: [{ path: '/photos', error: 'not reachable (unplugged or unmounted?)' }],
              unreachableTotal: 1,
              skipped: [{ path: '/photos/link.jpg', reason: 'a symbolic link: links are not followed' }],
              skippedTotal: 1,
            },
          ],
        };
      }
      return JSON.parse(JSON.stringify(status)) as Status;
    },
    failures: async () => [{ fileId: 9, path: '/photos/broken.jpg', error: 'unsupported file type' }],
    onIndexProgress: (l: (p: IndexProgress) => void) => {
      emit = l;
      return () => undefined;
    },
    index,
    cancelIndex,
    addRoot,
    removeRoot,
  };
  return {
    client: c,
    index,
    cancelIndex,
    addRoot,
    removeRoot,
    emit: (p: IndexProgress) => act(() => emit(p)),
  };
}

const progress = (phase: IndexProgress['phase'], done: number, total: number): IndexProgress => ({
  phase,
  filesDone: done,
  filesTotal: total,
  filesPerSec: 2.5,
  etaS: 12,
  current: '/photos/sub/IMG_0042.jpg',
  summary: { ...emptySummary(), indexed: done, failed: 1 },
});

describe('library panel', () => {
  it('lists folders with their status and counts, and the failures with reasons', async () => {
    render(<App client={libraryClient().client} />);
    const root = await screen.findByRole('list', { name: 'Library folders' });
    expect(within(root).getByText('offline')).toBeTruthy();
    expect(within(root).getByText(/10 indexed · 2 pending · 1 failed/)).toBeTruthy();
    const failures = await screen.findByRole('list', { name: 'Files that could not be indexed' });
    expect(failures.textContent).toContain('broken.jpg');
    expect(failures.textContent).toContain('unsupported file type');
    expect(screen.getByText(TEST_PACK_MESSAGE)).toBeTruthy();
    const skipped = within(root).getByTestId('root-skipped');
    expect(skipped.textContent).toMatch(/1 entry skipped.*link\.jpg.*symbolic link/);
  });

  it('adds a folder by path and shows why one cannot be added', async () => {
    const { client, addRoot } = libraryClient();
    render(<App client={client} />);
    const input = await screen.findByRole('textbox', { name: 'Folder path to add' });
    fireEvent.change(input, { target: { value: '/nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    expect((await screen.findByRole('alert')).textContent).toBe('no such folder: /nope');
    fireEvent.change(input, { target: { value: '/music' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    await screen.findByText('music', { selector: '.root-name' });
    expect(addRoot).toHaveBeenLastCalledWith({ path: '/music' });
  });

  it('asks before removing a folder', async () => {
    const { client, removeRoot } = libraryClient();
    render(<App client={client} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Remove folder /photos' }));
    const confirm = screen.getByRole('alertdialog', { name: 'Remove /photos?' });
    fireEvent.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    expect(removeRoot).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Remove folder /photos' }));
    fireEvent.click(screen.getByRole('button', { name: 'Remove' }));
    await act(async () => undefined);
    expect(removeRoot).toHaveBeenCalledWith({ id: 1 });
  });

  it('indexes with live progress, stops, and offers to resume', async () => {
    const { client, index, cancelIndex, emit } = libraryClient();
    render(<App client={client} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Resume' })); // 2 files are pending
    expect(index).toHaveBeenCalledWith({ retryFailed: false });
    await screen.findByText('Starting…');
    emit(progress('embed', 4, 12));
    const bar = screen.getByRole('progressbar', { name: 'Indexing progress' });
    expect(bar.getAttribute('aria-valuenow')).toBe('4');
    expect(bar.getAttribute('aria-valuemax')).toBe('12');
    expect(screen.getByText('4 / 12 files')).toBeTruthy();
    expect(screen.getByText('2.5 files/s')).toBeTruthy();
    expect(screen.getByText('12 s left')).toBeTruthy();
    expect(screen.getByText('IMG_0042.jpg')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Stop' }));
    emit(progress('cancelled', 4, 12));
    await act(async () => undefined);
    expect(cancelIndex).toHaveBeenCalled();
    expect(await screen.findByText('Stopped')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Resume' })).toBeTruthy();
  });
});
