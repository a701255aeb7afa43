/**
 * Uploaded photos: decoded safely (the header is read and checked before any pixel is decoded), then prepared the
 * way the dataset tool prepares an image for a network — alpha composited over black, converted to the network's
 * channels, centre-cropped to a square and Lanczos-resized to its resolution. Kept in memory under an id, a few at a
 * time (the oldest is dropped); the dlatents of a projection are stored with the photo.
 */
import { randomBytes } from 'node:crypto';
import { decodeImage, readImageHeader } from '../data/decode.js';
import { compositeAlpha, convertChannels, centerCropBox, crop, type Pixels } from '../data/pixels.js';
import { resize } from '../data/resample.js';
import type { LatentArray } from '../gen/index.js';
import { RequestError } from './requests.js';

/** The largest side of a photo accepted for decoding. */
export const MAX_PHOTO_SIDE = 8192;
/** How many photos are kept. */
export const MAX_PHOTOS = 8;

export interface Photo {
  id: string;
  /** The prepared target: the network's resolution and channels. */
  target: Pixels;
  /** The original size. */
  width: number;
  height: number;
  /** dlatents [1, layers, dlatent] once projected. */
  dlatents: LatentArray | null;
}

/** Decodes and prepares `bytes` for a network of `resolution`² with `channels` channels; 400 with the reason otherwise. */
export async function preparePhoto(bytes: Uint8Array, resolution: number, channels: number): Promise<Omit<Photo, 'id' | 'dlatents'>> {
  if (bytes.length === 0) throw new RequestError('photo: the upload is empty');
  let decoded: Pixels;
  try {
    const head = await readImageHeader(bytes, 'photo');
    if (head.width > MAX_PHOTO_SIDE || head.height > MAX_PHOTO_SIDE) {
      throw new Error(`photo: ${head.width}×${head.height} is larger than ${MAX_PHOTO_SIDE}×${MAX_PHOTO_SIDE}`);
    }
    decoded = await decodeImage(bytes, 'photo');
  } catch (e) {
    // One line: libvips may repeat its complaint on several.
    throw new RequestError((e as Error).message.replace(/\n[\s\S]*?\)$/, ')'));
  }
  const flat = convertChannels(compositeAlpha(decoded, 'black'), channels === 1 ? 1 : 3);
  const square = crop(flat, centerCropBox(flat.width, flat.height, 'square'));
  return { target: resize(square, { width: resolution, height: resolution, filter: 'lanczos' }), width: decoded.width, height: decoded.height };
}

/** The photos of a studio session. */
export class PhotoShelf {
  private readonly photos = new Map<string, Photo>();

  add(p: Omit<Photo, 'id' | 'dlatents'>): Photo {
    const photo: Photo = { ...p, id: `p-${randomBytes(6).toString('hex')}`, dlatents: null };
    this.photos.set(photo.id, photo);
    while (this.photos.size > MAX_PHOTOS) this.photos.delete(this.photos.keys().next().value!);
    return photo;
  }

  get(id: string): Photo {
    const p = this.photos.get(id);
    if (!p) throw new RequestError(`no photo '${id}' (uploads are kept while the studio runs, ${MAX_PHOTOS} at most)`, 404);
    return p;
  }
}
