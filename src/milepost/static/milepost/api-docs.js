/* Starts Swagger UI on the API docs page (web/api_docs.html) from its JSON settings block.
   A signed-in session sends its CSRF token with "Try it out" writes, as the pages do. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("swagger-settings").textContent);
  var token = document.body.dataset.csrfToken;

  /* Swagger UI resolves the security schemes as soon as the document arrives. For an OpenAPI
     3.1 document (django-ninja writes 3.1) that resolution first normalises the whole document
     (apidom), which took over a second of the page's first render here. Ours holds no $ref in
     its security schemes, so there is nothing to resolve: skip that one request. Operations are
     still resolved, as usual, when someone opens one. */
  function noEagerSchemeResolution() {
    return {
      statePlugins: {
        spec: {
          wrapActions: {
            requestResolvedSubtree: function (original, system) {
              return function (path) {
                if (path && path.join("/") === "components/securitySchemes") {
                  var schemes = system.specSelectors.specJson().getIn(["components", "securitySchemes"]);
                  if (!schemes || JSON.stringify(schemes.toJS()).indexOf('"$ref"') === -1) {
                    return undefined;
                  }
                }
                return original.apply(null, arguments);
              };
            },
          },
        },
      },
    };
  }

  config.dom_id = "#swagger-ui";
  config.presets = [SwaggerUIBundle.presets.apis];
  config.plugins = [noEagerSchemeResolution];
  if (token) {
    config.requestInterceptor = function (req) {
      req.headers["X-CSRFToken"] = token;
      return req;
    };
  }
  window.ui = SwaggerUIBundle(config);
})();
