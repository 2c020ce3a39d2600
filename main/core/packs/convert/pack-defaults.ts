import type { EncoderModality } from '../../../../app/modality.js';
import {
  AudioParamsSchema,
  ImuParamsSchema,
  DepthParamsSchema,
  TextParamsSchema,
  ThermalParamsSchema,
  VisionParamsSchema,
} from '../../../../app/pack.js';
import { IMAGEBIND_LICENCE } from '../installable.js';

/**
 * What a pack converted from an ImageBind checkpoint states besides its graphs: ImageBind's own
 * preprocessing (imagebind/data.py, and the recipes in docs/preprocessing.md for the modalities
 * data.py lacks), written out in full so the pack documents itself, and the weights' licence.
 */

export const IMAGEBIND_PREPROCESS: Readonly<Record<EncoderModality, unknown>> = {
  vision: VisionParamsSchema.parse({}),
  text: TextParamsSchema.parse({}),
  audio: AudioParamsSchema.parse({}),
  depth: DepthParamsSchema.parse({}),
  thermal: ThermalParamsSchema.parse({}),
  imu: ImuParamsSchema.parse({}),
};

/**
 * The pack's licence: Meta states it in two places and they differ (the README says CC-BY-NC 4.0,
 * model_card.md CC BY-NC-SA 4.0); the pack carries both, from the catalogue's one statement of them.
 */
export const IMAGEBIND_PACK_LICENCE = {
  name: 'CC-BY-NC-4.0',
  url: IMAGEBIND_LICENCE.terms[0].url,
  summary: IMAGEBIND_LICENCE.summary,
  terms: IMAGEBIND_LICENCE.terms,
  text:
    'ImageBind model weights (c) Meta Platforms, Inc. Non-commercial use only: ' +
    IMAGEBIND_LICENCE.terms.map((t) => `${t.statedIn} says ${t.name} (${t.url})`).join('; ') +
    '. Converted by Bindery without changing what the weights compute. https://github.com/facebookresearch/ImageBind',
};
