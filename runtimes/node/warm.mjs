// Imported once by a pre-started runtime before it has a function (see
// awaitFunction() in bootstrap): the first import() of a file sets up Node's
// ES module loader for file URLs, ~8 ms here, which an .mjs handler then
// finds done. It must stay an ES module that does nothing.
export default 0;
