/** Generating and exploring: images from seeds or saved latents, the paper's figures, interpolation videos, timelapses. */
export { parseSeeds, parseIntRanges, parseNumberList, latentsFromSeeds, seedLatents, MAX_SEED } from './seeds.js';
export {
  type AnyGenerator, type LatentArray, type ClassSpec, type RenderOptions, type Truncation, type NoiseMode, NOISE_MODES,
  isStyleGAN, requireStyleGAN, seededNoise,
} from './render.js';
export { generateImages, generateImagesAsync, generateBatches, concatLatents, readLatents, writeLatents, type LatentSource, type GenerateOptions, type GeneratedImages } from './generate.js';
export { styleMixingFigure, resolveStyleLayers, type StyleLayers, type StyleMixingOptions, type StyleMixingFigure } from './style-mixing.js';
export { noiseFigure, noiseDetailFigure, noiseComponentsFigure, noiseComponentColumns, type NoiseFigureOptions, type NoiseComponents } from './noise-figure.js';
export { truncationFigure, DEFAULT_PSIS, type TruncationFigureOptions } from './truncation-figure.js';
export { interpolationFrames, interpolationPath, slerp, type InterpolationOptions, type InterpolationSpace, type PathPoint } from './interpolation.js';
export { writeVideo, videoFormat, hasFfmpeg, type VideoFormat, type VideoOptions, type VideoInfo } from './video.js';
export { timelapse, timelapseFrames, runGrids, type RunGrid, type TimelapseOptions } from './timelapse.js';
export { withCaption, withTitles, STRIP_HEIGHT, type Titles } from './caption.js';
export { concatImages, assembleGrid, cropImage, resizeNearest, grayTo, blankImage } from './grid.js';
export { openNetwork, defaultNetworkPath, DEFAULT_NETWORK, type OpenedNetwork } from './network.js';
export { renderFigures, fitCells, type FiguresOptions, type FigureFile } from './figures.js';
export { wStatistics, classCenters, type WStatistics } from './w-average.js';
