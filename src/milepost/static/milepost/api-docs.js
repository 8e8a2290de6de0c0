/* Starts Swagger UI on the API docs page (web/api_docs.html) from its JSON settings block.
   A signed-in session sends its CSRF token with "Try it out" writes, as the pages do. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("swagger-settings").textContent);
  var token = document.body.dataset.csrfToken;
  config.dom_id = "#swagger-ui";
  config.presets = [SwaggerUIBundle.presets.apis];
  if (token) {
    config.requestInterceptor = function (req) {
      req.headers["X-CSRFToken"] = token;
      return req;
    };
  }
  window.ui = SwaggerUIBundle(config);
})();
