import type { EncoderModality } from '../../../../app/modality.js';
import {
  AudioParamsSchema,
  ImuParamsSchema,
  DepthParamsSchema,
  TextParamsSchema,
  ThermalParamsSchema,
  VisionParamsSchema,
} from '../../../../app/pack.js';

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
 * Meta states the licence in two places and they differ: the repository's README says
 * CC-BY-NC 4.0, its model_card.md says CC BY-NC-SA 4.0. Both are non-commercial; the pack shows both.
 */
export const IMAGEBIND_LICENCE = {
  name: 'CC-BY-NC-4.0',
  url: 'https://creativecommons.org/licenses/by-nc/4.0/',
  text:
    'ImageBind model weights (c) Meta Platforms, Inc. Non-commercial use only. The ImageBind README ' +
    'licenses the weights under CC-BY-NC 4.0 (https://creativecommons.org/licenses/by-nc/4.0/); its ' +
    'model card says CC BY-NC-SA 4.0 (https://creativecommons.org/licenses/by-nc-sa/4.0/). Converted ' +
    'by Bindery without changing what the weights compute. https://github.com/facebookresearch/ImageBind',
};
