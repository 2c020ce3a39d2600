import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, type AppProps } from './App.js';
import { chooseClient } from './api/client.js';
import { NoToken } from './components/NoToken.js';
import { textChip } from './state/chips.js';
import './styles.css';

/**
 * Start-up: Electron's preload (window.bindery) → IPC; a #token in the address → the bridge of
 * `bindery serve`; neither → explain how to open the app. `?bench=grid100k` swaps in an in-memory
 * client with 100,000 synthetic results (the grid scrolling benchmark; no engine needed).
 */
async function start(): Promise<void> {
  const root = createRoot(document.getElementById('root')!);
  const bench = new URLSearchParams(location.search).get('bench');
  if (bench === 'grid100k') {
    const { createFakeClient } = await import('./dev/fake-client.js');
    const props: AppProps = {
      client: createFakeClient({ hits: 100_000 }),
      initialChips: [textChip('benchmark')],
    };
    root.render(<App {...props} />);
    return;
  }
  const choice = chooseClient(window);
  if (choice.kind === 'no-token') {
    root.render(<NoToken />);
    return;
  }
  root.render(
    <StrictMode>
      <App client={choice.client} />
    </StrictMode>,
  );
}

void start();
