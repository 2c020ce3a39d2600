// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { WebSocket as NodeWebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppApi, Status } from '../../app/api.js';
import { ApiError } from '../../app/errors.js';
import { startBridge, type Bridge } from '../../main/bridge/server.js';
import { createBridgeClient, type BinderyClient } from '../../renderer/src/api/client.js';
import { App } from '../../renderer/src/App.js';
import { createFakeClient } from '../../renderer/src/dev/fake-client.js';

/**
 * The app's states through the real loopback bridge (HTTP + WebSocket, main/bridge) and the real
 * browser client, rendered in jsdom: the status is read again once a search has loaded an
 * encoder, and a search that failed while the server was down runs again by itself once the
 * client has reconnected. The engine cannot run inside jsdom (ONNX and the tokenizer break on its
 * globals), so behind the bridge stands the renderer's synthetic engine, made to load its encoders
 * on first use as the real one does; the Chromium e2e (a11y-layout) runs the same flows against
 * the real engine.
 */

/** Synthetic results; encoders "load" with the first search, after which the status reports them. */
function lazyEngine(): AppApi {
  const fake = createFakeClient({ hits: 24 });
  let loaded = false;
  return {
    ...fake,
    search: (q) => {
      loaded = true;
      return fake.search(q);
    },
    status: async (req?: { loadEncoders?: boolean }) => {
      const s: Status = await fake.status(req);
      const providers: Status['model']['providers'] = loaded
        ? { text: { provider: 'cpu', fallbacks: [] } }
        : {};
      return { ...s, model: { ...s.model, providers } };
    },
  };
}

let engine: AppApi;
let bridge: Bridge;
let port: number;
let client: BinderyClient;

/** The server of `bindery serve` around the engine; again on the same port and token after a stop. */
function serveEngine(at = 0, token?: string): Promise<Bridge> {
  return startBridge({
    api: engine,
    media: async () => {
      throw new ApiError('not_found', 'jsdom loads no media');
    },
    port: at,
    token,
  });
}

beforeAll(async () => {
  engine = lazyEngine();
  bridge = await serveEngine();
  port = Number(new URL(bridge.url).port);
  client = createBridgeClient(bridge.url, bridge.token, { WebSocketImpl: NodeWebSocket as never });
});

afterEach(cleanup);

afterAll(async () => {
  await bridge?.close();
});

const statusBar = () => screen.getByRole('contentinfo', { name: 'Status' });

/** The results header ("N results"), once a search has answered. */
const answered = (timeout: number) =>
  waitFor(() => expect(document.querySelector('.results-header')?.textContent).toMatch(/\d+ results/), {
    timeout,
  });

function search(text: string): void {
  const box = screen.getByLabelText('Add a text term (press Enter)');
  fireEvent.change(box, { target: { value: text } });
  fireEvent.keyDown(box, { key: 'Enter' });
}

describe('app states against the engine behind the bridge', () => {
  it('reads the status again after a search has loaded the encoders: the provider replaces "not loaded yet"', async () => {
    render(<App client={client} />);
    await waitFor(() => expect(statusBar().textContent).toContain('not loaded yet'));
    search('a red square');
    await answered(20_000);
    // Well before the 15 s poll: the refresh follows the search.
    await waitFor(() => expect(statusBar().textContent).toMatch(/EP\s*cpu(?! \(not loaded)/), {
      timeout: 5_000,
    });
    expect(statusBar().textContent).not.toContain('not loaded yet');
  }, 60_000);

  it('retries the search that failed while the server was down once the connection is back', async () => {
    render(<App client={client} />);
    search('a blue circle');
    await answered(20_000);
    await bridge.close();
    await waitFor(() => expect(statusBar().textContent).toContain('Reconnecting…'), { timeout: 5_000 });
    search('a green triangle');
    await screen.findByText('The search failed', {}, { timeout: 10_000 });
    bridge = await serveEngine(port, bridge.token);
    // Nobody presses "Try again": the reconnect alone brings the results back.
    await waitFor(() => expect(screen.queryByText('The search failed')).toBeNull(), { timeout: 20_000 });
    await answered(10_000);
    expect(statusBar().textContent).not.toContain('Reconnecting…');
  }, 60_000);
});
