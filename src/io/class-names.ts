/**
 * Class names of conditional networks: from the checkpoint's `class_names` metadata (a JSON array, as dataset.json
 * can carry them), else those of a known dataset the metadata names (Fashion-MNIST).
 */

/** Fashion-MNIST's ten classes, in label order. */
export const FASHION_MNIST_CLASSES: readonly string[] = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** The names of a network's `labelSize` classes, or null when they are not known. */
export function classNamesOf(metadata: Record<string, string>, labelSize: number): string[] | null {
  if (labelSize === 0) return null;
  if (metadata.class_names) {
    try {
      const names = JSON.parse(metadata.class_names) as unknown;
      if (Array.isArray(names) && names.length === labelSize && names.every((n) => typeof n === 'string')) return names as string[];
    } catch {
      // not JSON: fall through to the known datasets
    }
  }
  if (labelSize === FASHION_MNIST_CLASSES.length && /fashion-mnist|fmnist/i.test(metadata.dataset ?? '')) return [...FASHION_MNIST_CLASSES];
  return null;
}

/**
 * A class given as an index or a name (case-insensitive, or a unique prefix) → its index; errors list the names.
 * `names` null: only indices.
 */
export function classIndexOf(value: string | number, labelSize: number, names: readonly string[] | null): number {
  const list = names ? `: ${names.map((n, i) => `${i} ${n}`).join(', ')}` : '';
  if (typeof value === 'number' || /^\d+$/.test(value)) {
    const i = Number(value);
    if (i >= labelSize) throw new Error(`class ${i} is out of range: this network has classes 0…${labelSize - 1}${list}`);
    return i;
  }
  if (!names) throw new Error(`class '${value}': this network's class names are not known; use an index 0…${labelSize - 1}`);
  const v = value.toLowerCase();
  const exact = names.findIndex((n) => n.toLowerCase() === v);
  if (exact >= 0) return exact;
  const prefixed = names.map((n, i) => [n, i] as const).filter(([n]) => n.toLowerCase().startsWith(v));
  if (prefixed.length === 1) return prefixed[0]![1];
  throw new Error(`class '${value}' is ${prefixed.length ? 'ambiguous' : 'unknown'}; this network's classes${list}`);
}
