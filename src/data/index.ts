/** Datasets: creation from image folders / ZIPs / IDX files, opening and validation, and minibatch loading. */
export { createDataset, datasetImageName, type CreateDatasetOptions, type CreatedDataset, type CreateProgress, type CropTransform } from './create.js';
export { Dataset, datasetInfo, openDataset, type DatasetInfo, type OpenDatasetOptions } from './dataset.js';
export { BatchLoader, type BatchLoaderOptions } from './loader.js';
export { assembleBatch, type Batch } from './batches.js';
export { ImageStore, DEFAULT_MEMORY_BUDGET, type CacheProgress, type ImageStoreOptions } from './store.js';
export { ImageOrder, type OrderOptions } from './order.js';
export { DatasetError, type ImageProblem } from './problems.js';
export { parseIdx, readIdx, type IdxArray, type IdxDtype } from './idx.js';
export { boxResize, downscaleLod, lanczosResize, resize, type ResizeFilter } from './resample.js';
export type { Background } from './pixels.js';
export type { LabelSource } from './source.js';
