#!/usr/bin/env node
// Renders resources/icon.svg to the PNGs electron-builder packages:
//   resources/icon.png        512×512 (window icon; electron-builder derives .icns/.ico from it)
//   resources/icons/NxN.png   the Linux icon set (hicolor sizes)
// Run after editing the SVG: `node resources/make-icons.mjs`. The outputs are committed.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const here = path.dirname(fileURLToPath(import.meta.url));
const svg = await readFile(path.join(here, 'icon.svg'));
const SIZES = [16, 24, 32, 48, 64, 128, 256, 512];

await mkdir(path.join(here, 'icons'), { recursive: true });
for (const size of SIZES) {
  // Rasterise at a density that renders the 512-unit SVG at the target size without resampling blur.
  const png = sharp(svg, { density: Math.max(1, Math.round((72 * size) / 512)) })
    .resize(size, size)
    .png({ compressionLevel: 9 });
  await png.toFile(path.join(here, 'icons', `${size}x${size}.png`));
}
await sharp(svg, { density: 72 })
  .resize(512, 512)
  .png({ compressionLevel: 9 })
  .toFile(path.join(here, 'icon.png'));
console.log(`wrote icon.png and icons/{${SIZES.map((s) => `${s}x${s}`).join(',')}}.png`);
