/**
 * The embedded sample of `visionops eval` (no arguments): the 100-image COCO
 * val2014 subset (segmentations removed; bbox evaluation does not read them)
 * and cocoapi's fake bbox results. Imported only by the CLI, on demand.
 * Sources and licenses: README.md beside this file.
 */
import gt from './instances_val2014_100_bbox.json';
import results from './instances_val2014_fakebbox100_results.json';

export const SAMPLE_DESCRIPTION = '100 COCO val2014 images (839 annotations, 80 categories) + cocoapi fake bbox results (734)';
export const sampleGt: unknown = gt;
export const sampleResults: unknown = results;
