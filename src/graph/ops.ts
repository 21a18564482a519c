// The graph's op registry: each op's definition (shape rule, encode, backward rule) lives beside its kernel in src/ops/.
export { affineOp, affineGradOp } from '../ops/affine.ts';
export { reluOp, reluGradOp } from '../ops/relu.ts';
export { batchNormOp, batchNormGradOp, type BatchNormAttrs } from '../ops/batchnorm.ts';
export { layerNormOp, layerNormGradOp, type LayerNormAttrs } from '../ops/layernorm.ts';
export { softmaxLossOp } from '../ops/softmax.ts';
export { l2Op } from '../ops/regularization.ts';
export { accuracyOp } from '../ops/accuracy.ts';
export { gatherOp } from '../ops/gather.ts';
