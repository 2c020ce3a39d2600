import type { WaveformRequestSchema } from '../../../app/api.js';
import type { Engine } from '../engine/engine.js';
import { mediaRow } from '../catalogue/files.js';
import { MediaError, resolveMedia } from '../media/media.js';
import { filePeaks } from '../media/previews.js';
import type { Req } from './parsed.js';

/**
 * The media half of AppApi that travels as JSON (docs/architecture.md §8). Bytes (originals,
 * thumbnails) go through the host's media path, not through AppApi.
 */
export function mediaApi(engine: Engine) {
  return {
    async waveform({ fileId, points }: Req<typeof WaveformRequestSchema>): Promise<{ peaks: number[] }> {
      const media = await resolveMedia(engine.db, fileId, 'original');
      if (!media.mime.startsWith('audio/') && !media.mime.startsWith('video/')) {
        throw new MediaError(415, 'only audio and video files have a waveform');
      }
      const kind = media.mime.startsWith('audio/') ? 'audio' : 'video';
      const src = { hash: mediaRow(engine.db, fileId)?.hash ?? null, path: media.path, kind } as const;
      return { peaks: await filePeaks(engine.db, src, points) };
    },
  };
}
