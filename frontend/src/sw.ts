/// <reference lib="webworker" />
/** The service worker: precache the app shell and hashed assets, answer every navigation with
 *  the cached shell (so a cold reload works offline), never touch /api. It does not sync:
 *  sync runs in the page (SYNC.md 15: no Background Sync). */
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';

declare const self: ServiceWorkerGlobalScope;

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html'), { denylist: [/^\/api\//] }));

// The page asks for the new version only when the user chooses to reload.
self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void self.skipWaiting();
});
