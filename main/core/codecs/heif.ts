import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * HEIF/HEIC coded with HEVC: the prebuilt libvips only has libheif's AV1 decoder, so these go
 * through libheif-js (WebAssembly libheif + libde265), which applies the container's
 * irot/imir/clap transforms (docs/architecture.md §5).
 */

interface HeifError {
  code: unknown;
  message: string;
}
interface HeifChannel {
  data: Uint8Array;
  width: number;
  height: number;
  stride: number;
}
/** The slice of libheif-js's embind API that is used here (its own typings describe the raw C API). */
interface LibHeif {
  heif_error_code: { heif_error_Ok: unknown };
  heif_colorspace: { heif_colorspace_RGB: unknown };
  heif_chroma: { heif_chroma_interleaved_RGBA: unknown };
  heif_context_alloc(): unknown;
  heif_context_free(ctx: unknown): void;
  heif_context_read_from_memory(ctx: unknown, data: Uint8Array): HeifError;
  heif_js_context_get_primary_image_handle(ctx: unknown): unknown;
  heif_image_handle_release(handle: unknown): void;
  heif_js_decode_image2(
    handle: unknown,
    colorspace: unknown,
    chroma: unknown,
  ): Promise<HeifDecoded | HeifError>;
  heif_image_release(image: unknown): void;
}
interface HeifDecoded {
  image: unknown;
  width: number;
  height: number;
  channels: HeifChannel[];
}

let libheifModule: LibHeif | undefined;

function libheif(): LibHeif {
  if (!libheifModule) {
    const require = createRequire(import.meta.url);
    // Load the wasm build with an explicit binary path: the package's own `wasm.js` resolves it
    // against the current directory.
    const factory = require('libheif-js/libheif-wasm/libheif.js') as (opts: {
      wasmBinary: Buffer;
    }) => LibHeif;
    const wasmBinary = readFileSync(require.resolve('libheif-js/libheif-wasm/libheif.wasm'));
    libheifModule = factory({ wasmBinary });
  }
  return libheifModule;
}

interface RgbaPixels {
  data: Buffer;
  width: number;
  height: number;
}

/** Decodes the primary image of a HEIF file to RGBA with libheif (transforms applied). */
export async function decodeHeifWithLibheif(bytes: Buffer): Promise<RgbaPixels> {
  const lib = libheif();
  const ctx = lib.heif_context_alloc();
  let handle: unknown;
  try {
    const err = lib.heif_context_read_from_memory(ctx, bytes);
    if (err.code !== lib.heif_error_code.heif_error_Ok) throw new Error(`HEIF: ${err.message}`);
    handle = lib.heif_js_context_get_primary_image_handle(ctx);
    const img = await lib.heif_js_decode_image2(
      handle,
      lib.heif_colorspace.heif_colorspace_RGB,
      lib.heif_chroma.heif_chroma_interleaved_RGBA,
    );
    if (!('channels' in img)) throw new Error(`HEIF: ${(img as HeifError).message ?? 'decoding failed'}`);
    try {
      return packRgba(img.channels[0]);
    } finally {
      lib.heif_image_release(img.image);
    }
  } finally {
    if (handle) lib.heif_image_handle_release(handle);
    lib.heif_context_free(ctx);
  }
}

function packRgba(ch: HeifChannel | undefined): RgbaPixels {
  if (!ch || ch.width <= 0 || ch.height <= 0) throw new Error('HEIF: decoder returned no pixels');
  const row = ch.width * 4;
  const data = Buffer.alloc(row * ch.height);
  for (let y = 0; y < ch.height; y++) data.set(ch.data.subarray(y * ch.stride, y * ch.stride + row), y * row);
  return { data, width: ch.width, height: ch.height };
}
