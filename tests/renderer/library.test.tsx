// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DirListing, Status } from '../../app/api.js';
import type { IndexProgress, IndexSummary } from '../../app/indexing.js';
import { emptySummary } from '../../app/indexing.js';
import { App } from '../../renderer/src/App.js';
import { TEST_PACK_MESSAGE } from '../../renderer/src/components/StatusBar.js';
import { mockClient } from './helpers.js';

afterEach(cleanup);

const counts = (indexed: number, pending = 0, failed = 0) => ({ pending, indexed, failed, missing: 0 });

/** A small folder tree as the engine's listDirs describes it (folders only; files counted). */
const TREE: Record<string, string[]> = {
  '/home/me': ['Music', 'Pictures', 'locked'],
  '/home/me/Pictures': ['2023', '2024'],
  '/home/me/Pictures/2024': [],
};

function folderListing(path: string): DirListing {
  const names = TREE[path];
  if (!names) throw { code: 'invalid_request', message: `${path}: no such folder` };
  return {
    path,
    parent: path === '/' ? null : path.slice(0, path.lastIndexOf('/')) || '/',
    entries: names.map((name) => ({
      name,
      path: `${path}/${name}`,
      link: false,
      readable: name !== 'locked',
    })),
    more: 0,
    hidden: 1,
    files: 3,
    error: null,
    refusal: path === '/photos/inside' ? 'overlaps the library folder /photos' : null,
    places: [
      { label: 'Home', path: '/home/me' },
      { label: 'photos', path: '/photos' },
    ],
  };
}

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
  const listDirs = vi.fn(async ({ path = '/home/me' }: { path?: string }) => folderListing(path));
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
    listDirs,
  };
  return {
    client: c,
    index,
    cancelIndex,
    addRoot,
    removeRoot,
    listDirs,
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

  it('shows the engine’s refusal under the field it is about, until the path changes', async () => {
    render(<App client={libraryClient().client} />);
    const input = await screen.findByRole('textbox', { name: 'Folder path to add' });
    fireEvent.change(input, { target: { value: '/nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    const alert = await screen.findByRole('alert');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toBe(alert.id);
    expect(alert.closest('form')?.getAttribute('aria-label')).toBe('Add a folder');
    fireEvent.change(input, { target: { value: '/nop' } });
    expect(screen.queryByRole('alert')).toBeNull();
    expect(input.getAttribute('aria-invalid')).toBeNull();
  });

  it('offers to index a folder right after adding it', async () => {
    const { client, index } = libraryClient();
    render(<App client={client} />);
    const input = await screen.findByRole('textbox', { name: 'Folder path to add' });
    fireEvent.change(input, { target: { value: '/music' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    const note = await screen.findByTestId('added-note');
    expect(note.textContent).toContain('Added music');
    expect(index).not.toHaveBeenCalled();
    fireEvent.click(within(note).getByRole('button', { name: 'Index now' }));
    expect(index).toHaveBeenCalledWith({ retryFailed: false });
    expect(screen.queryByTestId('added-note')).toBeNull();
  });

  it('says so when the folder was in the library already, with nothing to index', async () => {
    const { client } = libraryClient();
    client.addRoot.mockImplementationOnce(async () => (await client.status()).roots[0]);
    render(<App client={client} />);
    const input = await screen.findByRole('textbox', { name: 'Folder path to add' });
    fireEvent.change(input, { target: { value: '/photos' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add' }));
    expect((await screen.findByText(/already in your library/)).textContent).toBe(
      '/photos is already in your library.',
    );
    expect(screen.queryByRole('button', { name: 'Index now' })).toBeNull();
  });

  it('picks a folder by browsing the engine’s listing when there is no native picker', async () => {
    const { client, listDirs, addRoot } = libraryClient();
    render(<App client={client} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Browse…' }));
    const dialog = await screen.findByRole('dialog', { name: 'Choose a library folder' });
    const home = await within(dialog).findByRole('list', { name: 'Folders in /home/me' });
    expect(listDirs).toHaveBeenCalledWith({});
    expect(
      within(home)
        .getByRole('button', { name: /locked/ })
        .hasAttribute('disabled'),
    ).toBe(true);
    expect(within(dialog).getByText(/3 files · 1 hidden not shown/)).toBeTruthy();
    fireEvent.click(within(home).getByRole('button', { name: /Pictures/ }));
    await within(dialog).findByRole('list', { name: 'Folders in /home/me/Pictures' });
    expect(within(dialog).getByTestId('picker-path').textContent).toBe('/home/me/Pictures');
    fireEvent.click(within(dialog).getByRole('button', { name: /Add this folder/ }));
    expect(addRoot).toHaveBeenLastCalledWith({ path: '/home/me/Pictures' });
    await screen.findByTestId('added-note');
    expect(screen.queryByRole('dialog', { name: 'Choose a library folder' })).toBeNull();
  });

  it('opens the picker at a typed path, and says when a folder cannot be added', async () => {
    const { client, listDirs } = libraryClient();
    TREE['/photos/inside'] = [];
    render(<App client={client} />);
    const input = await screen.findByRole('textbox', { name: 'Folder path to add' });
    fireEvent.change(input, { target: { value: '/photos/inside' } });
    fireEvent.click(screen.getByRole('button', { name: 'Browse…' }));
    const dialog = await screen.findByRole('dialog', { name: 'Choose a library folder' });
    await within(dialog).findByText('overlaps the library folder /photos');
    expect(listDirs).toHaveBeenCalledWith({ path: '/photos/inside' });
    expect(
      within(dialog)
        .getByRole('button', { name: /Add this folder/ })
        .hasAttribute('disabled'),
    ).toBe(true);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Up to the folder above' }));
    expect(await within(dialog).findByText('/photos: no such folder')).toBeTruthy();
    delete TREE['/photos/inside'];
  });
});
