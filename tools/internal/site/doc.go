// Package site reads a built static site (a folder of HTML pages) and splits every page
// into the sections a search result links to, as `sbmoe site` indexes them.
//
// What is read of a page:
//
//   - If any page of the site marks elements with data-sbmoe-body, only those elements are
//     read, and pages without one are left out (a site marks its content once, in its
//     templates, and list or tag pages then stay out of search). Otherwise the page's first
//     <main> is read, or failing that its <article> elements, or failing that <body>.
//   - Inside what is read, nav, header, footer, script, style, noscript, template, svg,
//     iframe, canvas, object, select and datalist elements are skipped, and so is every
//     element with data-sbmoe-ignore or the hidden attribute. A page whose <html> or <body>
//     carries data-sbmoe-ignore is left out.
//   - The page's title is the first <h1> of what is read (Pagefind's rule too), else its
//     <title>, else its file name; the heading used as the title is not repeated in the text.
//
// Sections: a heading (h1 to h6) with an id, or with an element holding an id inside it,
// starts a section whose URL is the page's URL + "#" + id; the text before the first such
// heading is the page's own section. A second heading with an id the page already used
// starts no section (browsers jump to the first one). Block elements end sentences: the
// text keeps a newline between blocks, and other whitespace is collapsed.
//
// URLs are the file's path below the site's root with "index.html" dropped ("guide/" for
// guide/index.html), after an optional base URL. Pages are decoded as their <meta charset>
// or byte order mark says, and as HTML does when neither does (UTF-8 if the bytes are,
// else windows-1252). Every file that cannot be read, is not text, or gives a URL another
// file already gave is reported in Result.Warnings and left out; the rest of the site is
// read.
package site
