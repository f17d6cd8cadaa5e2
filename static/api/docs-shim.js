// Load before Swagger UI or Redoc, with the page's nonce. Two guards, both at element creation:
// - Their bundles create <style> elements at run time (Redoc through styled-components), which the
//   project's CSP (style-src 'self' 'nonce-…') refuses without the nonce: each new <style> gets
//   this script's nonce before it is inserted (rules added later through CSSOM are not subject
//   to style-src).
// - No request leaves the machine: an <img> pointed at another origin (Redoc's footer logo on
//   cdn.redoc.ly) gets an empty image instead.
"use strict";
(function () {
  const nonce = document.currentScript && document.currentScript.nonce;
  const EMPTY_IMAGE = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==";
  const local = (url) => {
    try {
      const parsed = new URL(url, document.baseURI);
      return parsed.origin === window.location.origin || parsed.protocol === "data:" || parsed.protocol === "blob:";
    } catch (e) {
      return false;
    }
  };
  const create = Document.prototype.createElement;
  Document.prototype.createElement = function (tagName, options) {
    const element = create.call(this, tagName, options);
    const tag = String(tagName).toLowerCase();
    if (tag === "style" && nonce) {
      element.setAttribute("nonce", nonce);
    } else if (tag === "img") {
      const setAttribute = element.setAttribute;
      element.setAttribute = function (name, value) {
        return setAttribute.call(this, name, name === "src" && !local(value) ? EMPTY_IMAGE : value);
      };
      const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
      Object.defineProperty(element, "src", {
        get() { return src.get.call(this); },
        set(value) { src.set.call(this, local(value) ? value : EMPTY_IMAGE); },
      });
    }
    return element;
  };
})();
