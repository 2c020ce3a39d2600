// Types for tools/eslint-layers.js (plain JS, loaded by eslint.config.js before any build).
import type { ESLint } from 'eslint';

export const PACKAGES: Record<string, string[]>;
export const LAYERS: { dir: string; may: string[]; packages: string[] }[];
export function layerOf(rel: string): { dir: string; may: string[]; packages: string[] } | null;
export function kindOf(spec: string): string | null;
export function violation(rel: string, spec: string): string | null;
export const layersPlugin: ESLint.Plugin;
