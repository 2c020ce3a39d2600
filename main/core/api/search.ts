import type { EmbedRequestSchema, Embedding } from '../../../app/api.js';
import type { Query, SearchResponse } from '../../../app/query.js';
import type { Engine } from '../engine/engine.js';
import { Background } from '../search/background.js';
import { search } from '../search/search.js';
import { TermEncoder } from '../search/term-encoder.js';
import type { Req } from './parsed.js';

/** The query half of AppApi (docs/architecture.md §6): searches, single embeddings, and warming up. */
export function searchApi(engine: Engine) {
  const terms = new TermEncoder(engine);
  const background = new Background(engine);
  return {
    async search(query: Query): Promise<SearchResponse> {
      return search(engine, { terms, background }, query);
    },

    /** The vector the active pack gives one input (the index's vector: file-level for audio and video). */
    async embed(term: Req<typeof EmbedRequestSchema>): Promise<Embedding> {
      const handle = engine.active;
      const t = { ...term, weight: 1 };
      const vector = await terms.encode(t, handle);
      const hasAudio = await terms.hasSound(t, handle);
      const embedding = {
        modality: term.modality,
        pack: handle.id,
        dim: vector.length,
        vector: Array.from(vector),
      };
      return hasAudio === undefined ? embedding : { ...embedding, hasAudio };
    },

    /**
     * Long-running hosts (serve, the app) call this once at start, in the background: the serving
     * pack's query encoders are loaded and the text path (tokenizer, session, a first run)
     * exercised, so the user's first query does not pay for it. Failures are left for that query.
     */
    async warmUp(): Promise<void> {
      const { encoders } = engine.serving.pack;
      try {
        if (encoders.includes('text')) await terms.encode({ modality: 'text', text: 'warm up', weight: 1 });
        for (const m of ['vision', 'audio'] as const)
          if (encoders.includes(m)) await engine.serving.runtime.load(m);
      } catch {
        // Nothing to do here: the first query that needs the encoder says what is wrong.
      }
    },
  };
}
