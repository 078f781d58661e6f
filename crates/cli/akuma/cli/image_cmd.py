"""`akuma image build`: build an image (the cached default one unless -o)."""
import os
import sys

from akuma.image import ImageError


def image_command(opts, parser):
    if opts.image_command != "build":
        parser.parse_args(["image", "--help"])
        return 2
    from akuma.image.apt import default_cache_dir
    from akuma.image.build import DEFAULT_PACKAGES, DEFAULT_SIZE, build_image
    from akuma.image.cache import image_name, locked
    from akuma.image.progress import Progress
    packages = tuple(p for arg in (opts.packages or ()) for p in arg.split(",") if p) \
        or DEFAULT_PACKAGES
    size = opts.size or DEFAULT_SIZE
    progress = Progress(enabled=False if opts.quiet else None)
    cache = default_cache_dir()
    output = opts.output or os.path.join(cache, "images", image_name(packages, size))
    try:
        with locked(os.path.join(cache, "images", ".lock")):
            info = build_image(output, size, packages, cache_dir=cache, progress=progress)
    except (ImageError, OSError) as e:
        progress.end()
        print(f"akuma: image build failed: {e}", file=sys.stderr)
        return 1
    if not opts.quiet:
        print(f"{info['path']}: {info['packages']} packages, {info['applet_links']} busybox "
              f"links, {info['used_bytes'] / 2**20:.0f} MiB used of {size / 2**20:.0f} MiB")
    return 0
