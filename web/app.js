/* memgrade pages: progressive enhancement only. */
"use strict";
