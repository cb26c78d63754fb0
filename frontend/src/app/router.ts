/** Hash routes: the shell works offline from one cached index.html whatever the route.
 *  Screens for PIs and analysts (dashboards) add entries here and to the nav. */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { name: 'meetings' }
  | { name: 'meeting-new' }
  | { name: 'meeting'; id: string }
  | { name: 'session'; id: string }
  | { name: 'summary'; id: string }
  | { name: 'totals' }
  | { name: 'sync' }
  | { name: 'study' }
  | { name: 'dashboard'; view: DashView; query: string };

/** The PI and analyst dashboard's screens (src/ui/dashboard/). */
export const DASH_VIEWS = ['progress', 'participants', 'contributions', 'quality', 'consent', 'agreement'] as const;
export type DashView = (typeof DASH_VIEWS)[number];

export function dashHref(view: DashView, query: string): string {
  return `#/dashboard/${view}${query ? `?${query}` : ''}`;
}

export function parse(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean);
  const [a, b, c] = parts;
  if (a === 'meetings' && b === 'new') return { name: 'meeting-new' };
  if (a === 'meetings' && b) return { name: 'meeting', id: b };
  if (a === 'sessions' && b && c === 'summary') return { name: 'summary', id: b };
  if (a === 'sessions' && b) return { name: 'session', id: b };
  if (a === 'totals') return { name: 'totals' };
  if (a === 'sync') return { name: 'sync' };
  if (a === 'study') return { name: 'study' };
  if (a === 'dashboard') {
    const view = (DASH_VIEWS as readonly string[]).includes(b ?? '') ? (b as DashView) : 'progress';
    return { name: 'dashboard', view, query };
  }
  return { name: 'meetings' };
}

export function href(route: Route): string {
  switch (route.name) {
    case 'meeting-new': return '#/meetings/new';
    case 'meeting': return `#/meetings/${route.id}`;
    case 'session': return `#/sessions/${route.id}`;
    case 'summary': return `#/sessions/${route.id}/summary`;
    case 'dashboard': return dashHref(route.view, route.query);
    default: return `#/${route.name}`;
  }
}

export function go(route: Route): void {
  location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parse(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
