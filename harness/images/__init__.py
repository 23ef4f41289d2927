"""Image building: base image, wheelhouse, RIE, the function image, and pushes."""
