/**
 * The precisions a checkpoint converts to: fp16 (half the size; GPUs), fp32, int8 (trunk Linears
 * dynamically quantised; for CPUs) and q8 (trunk Linears as 8-bit weights in blocks of 32 with
 * fp16 activations and fused attention; for the WebGPU provider, which runs them with integer dot
 * products). One list for the API, the CLI and the converter (docs/architecture.md §12). Its own module,
 * free of zod, so the CLI's start-up (`bindery --help`) does not load the schema library.
 */
export const PRECISIONS = ['fp16', 'fp32', 'int8', 'q8'] as const;
export type Precision = (typeof PRECISIONS)[number];
