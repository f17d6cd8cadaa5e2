// Swagger UI, started from a file (no inline script: the page keeps the project's CSP).
// The page gives the schema URL and the CSRF header in data attributes of #swagger-ui.
"use strict";
(function () {
  const root = document.getElementById("swagger-ui");
  const csrfHeader = root.dataset.csrfHeader;
  const csrfToken = root.dataset.csrfToken;
  window.ui = SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null, // never ask validator.swagger.io
    requestInterceptor: (request) => {
      if (!["GET", undefined].includes(request.method) && request.credentials === "same-origin") {
        request.headers[csrfHeader] = csrfToken;
      }
      return request;
    },
  });
})();
