// Placeholder service worker (version {{ version }}); replaced by the kiosk front end.
