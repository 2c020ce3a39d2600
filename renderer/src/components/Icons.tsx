import type { SVGProps } from 'react';

/** A small inline icon set (stroke icons on a 24-unit grid), so the app needs no icon font. */
const PATHS = {
  image: 'M4 5h16v14H4z M4 16l5-5 4 4 3-3 4 4 M15.5 9.5a1.5 1.5 0 1 0 0-.01',
  audio: 'M3 12h2 M7 8v8 M11 4v16 M15 7v10 M19 10v4 M21 12h0',
  video: 'M3 6h13v12H3z M16 10l5-3v10l-5-3',
  text: 'M5 6h14 M12 6v13 M9 19h6',
  depth: 'M12 3l9 5-9 5-9-5z M3 13l9 5 9-5',
  thermal: 'M10 4a2 2 0 0 1 4 0v10a4 4 0 1 1-4 0z M12 9v7',
  imu: 'M3 12h3l2-6 4 12 2-6h7',
  segment: 'M12 3v3 M12 18v3 M3 12h3 M18 12h3 M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8',
  folder: 'M3 6h6l2 2h10v11H3z',
  plus: 'M12 5v14 M5 12h14',
  close: 'M6 6l12 12 M18 6L6 18',
  trash: 'M4 7h16 M9 7V4h6v3 M6 7l1 13h10l1-13',
  play: 'M7 4l13 8-13 8z',
  stop: 'M6 6h12v12H6z',
  refresh: 'M20 11a8 8 0 1 0-2.3 5.7 M20 4v7h-7',
  warning: 'M12 3l10 18H2z M12 10v5 M12 18v.01',
  upload: 'M12 16V4 M7 9l5-5 5 5 M4 20h16',
  copy: 'M9 9h11v11H9z M5 15H4V4h11v1',
  reveal: 'M3 6h6l2 2h10v11H3z M12 12l3 3-3 3',
  thumbUp: 'M12 5v14 M5 12l7-7 7 7',
  thumbDown: 'M12 5v14 M5 12l7 7 7-7',
  search: 'M11 4a7 7 0 1 0 0 14a7 7 0 1 0 0-14 M16 16l5 5',
  chevronLeft: 'M15 5l-7 7 7 7',
  chevronRight: 'M9 5l7 7-7 7',
  check: 'M5 12l5 5 9-10',
  download: 'M12 4v12 M7 11l5 5 5-5 M4 20h16',
  chip: 'M7 7h10v10H7z M10 3v4 M14 3v4 M10 17v4 M14 17v4 M3 10h4 M3 14h4 M17 10h4 M17 14h4',
  database: 'M4 6c0-3 16-3 16 0v12c0 3-16 3-16 0z M4 6c0 3 16 3 16 0 M4 12c0 3 16 3 16 0',
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({
  name,
  size = 16,
  ...rest
}: { name: IconName; size?: number } & SVGProps<SVGSVGElement>) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.8}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
      {...rest}
    >
      <path d={PATHS[name]} />
    </svg>
  );
}
