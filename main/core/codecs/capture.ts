import exifr from 'exifr';
import type { CaptureFacts } from '../../../app/modality.js';
import type { MediaProbe } from './ffmpeg.js';

/**
 * When and where a file was captured, as its own bytes say (docs/architecture.md §2, "Dates"):
 * photos by EXIF DateTimeOriginal with OffsetTimeOriginal and GPS (exifr reads only the header);
 * videos by the container's creation time and ISO 6709 location (ffprobe's tags); recordings by
 * their date tags. Every field is null when the file does not say, and the catalogue then dates
 * the file by its mtime, recording which source each date came from.
 */

export const NO_CAPTURE: CaptureFacts = { takenMs: null, source: null, lat: null, lon: null };

/** EXIF as exifr returns it with reviveValues off: dates stay the strings the camera wrote. */
interface ExifPick {
  DateTimeOriginal?: string;
  OffsetTimeOriginal?: string;
  CreateDate?: string;
  OffsetTimeDigitized?: string;
  latitude?: number;
  longitude?: number;
}

const EXIF_PICK = [
  'DateTimeOriginal',
  'OffsetTimeOriginal',
  'CreateDate',
  'OffsetTimeDigitized',
  'GPSLatitude',
  'GPSLatitudeRef',
  'GPSLongitude',
  'GPSLongitudeRef',
];

/** A photo's capture facts; a photo without EXIF (or unreadable EXIF) says nothing, never throws. */
export async function imageCapture(file: string): Promise<CaptureFacts> {
  const exif = (await exifr.parse(file, { pick: EXIF_PICK, reviveValues: false }).catch(() => undefined)) as
    ExifPick | undefined;
  if (!exif) return NO_CAPTURE;
  const takenMs =
    exifDateMs(exif.DateTimeOriginal, exif.OffsetTimeOriginal) ??
    exifDateMs(exif.CreateDate, exif.OffsetTimeDigitized);
  return { takenMs, source: takenMs === null ? null : 'exif', ...place(exif.latitude, exif.longitude) };
}

/**
 * "YYYY:MM:DD HH:MM:SS" with an optional "+HH:MM" offset → ms since the epoch. Without an offset
 * the wall-clock time is read in this machine's time zone, as photo libraries do. Cameras write
 * "0000:00:00 00:00:00" or blanks when their clock was never set: no date.
 */
export function exifDateMs(value: string | undefined, offset: string | undefined): number | null {
  const m = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(value?.trim() ?? '');
  if (!m || m[1] === '0000') return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const o = /^([+-])(\d{2}):?(\d{2})$/.exec(offset?.trim() ?? '');
  const ms = o
    ? Date.UTC(y, mo - 1, d, h, mi, s) - (o[1] === '-' ? -1 : 1) * (Number(o[2]) * 60 + Number(o[3])) * 60_000
    : new Date(y, mo - 1, d, h, mi, s).getTime();
  return plausible(ms) ? ms : null;
}

/** A recording's or video's capture facts from the tags ffprobe read (format and stream tags). */
export function probeCapture(probe: MediaProbe | undefined, kind: 'audio' | 'video'): CaptureFacts {
  if (!probe) return NO_CAPTURE;
  const tags = probe.tags;
  const takenMs =
    isoDateMs(tags['com.apple.quicktime.creationdate']) ??
    isoDateMs(tags['creation_time']) ??
    isoDateMs(tags['date']) ??
    isoDateMs(tags['date_recorded']) ??
    isoDateMs(tags['icrd']);
  const loc = iso6709(tags['com.apple.quicktime.location.iso6709'] ?? tags['location']);
  const source = takenMs === null ? null : kind === 'video' ? 'container' : 'tags';
  return { takenMs, source, ...place(loc?.lat, loc?.lon) };
}

/**
 * ISO 8601 dates as containers and tags write them: a full timestamp (with Z or an offset), a
 * date, or a bare year ("2021", common in music tags, is read as 1 January). Encoders that never
 * knew the time write 1904-01-01 or 1970-01-01: no date.
 */
export function isoDateMs(value: string | undefined): number | null {
  const v = value?.trim();
  if (!v) return null;
  const iso = /^\d{4}$/.test(v)
    ? `${v}-01-01T00:00:00Z`
    : /^\d{4}-\d{2}-\d{2}$/.test(v)
      ? `${v}T00:00:00Z`
      : v;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && plausible(ms) ? ms : null;
}

/** ISO 6709 as phones write it in video containers: "+48.8566+002.3522+035.000/". */
export function iso6709(value: string | undefined): { lat: number; lon: number } | null {
  const m = /^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)/.exec(value?.trim() ?? '');
  return m ? { lat: Number(m[1]), lon: Number(m[2]) } : null;
}

function place(lat: number | undefined, lon: number | undefined): { lat: number | null; lon: number | null } {
  const ok =
    Number.isFinite(lat) &&
    Number.isFinite(lon) &&
    Math.abs(lat!) <= 90 &&
    Math.abs(lon!) <= 180 &&
    (lat !== 0 || lon !== 0);
  return ok ? { lat: lat!, lon: lon! } : { lat: null, lon: null };
}

const NEVER_SET = [Date.UTC(1904, 0, 1), Date.UTC(1970, 0, 1)];

/**
 * After 1900 and at most a year ahead (clocks drift), and not the epoch a clock that was never
 * set reports (QuickTime's 1904-01-01, Unix's 1970-01-01: the whole day, as offsets shift it).
 */
function plausible(ms: number): boolean {
  if (NEVER_SET.some((t) => Math.abs(ms - t) < 86_400_000)) return false;
  return ms > Date.UTC(1900, 0, 1) && ms < Date.now() + 366 * 86_400_000;
}
