#!/usr/bin/env python3
"""Rate-distortion and speed of dct2d/tokdct against JPEG (libjpeg-turbo cjpeg
-optimize) and WebP (cwebp -m 6) on real images. Writes a markdown section
(stdout) and docs/dct_rd.png. Run through bench/dct.sh."""
import argparse, json, os, re, subprocess, sys, tempfile
import numpy as np
from PIL import Image

SK = '/usr/share/skimage-data'
for d in ['/usr/lib/python3/dist-packages/skimage/data', SK]:
    if os.path.isdir(d):
        SK = d
        break
GRAY = ['camera', 'page', 'text']
RGB = ['astronaut', 'coffee', 'chelsea']
QS = [10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95]
DQ = [10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 95]
RATES = [0.5, 0.75, 1.0, 1.5, 2.0]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def psnr(a, b):
    e = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float('inf') if e == 0 else 10 * np.log10(255.0 ** 2 / e)


def _blur(x):
    g = np.exp(-0.5 * (np.arange(-5, 6) / 1.5) ** 2)
    g /= g.sum()
    out = np.zeros_like(x)
    for i, w in enumerate(g):
        out += w * np.roll(x, i - 5, axis=0)
    x2 = np.zeros_like(x)
    for i, w in enumerate(g):
        x2 += w * np.roll(out, i - 5, axis=1)
    return x2[5:-5, 5:-5]


def ssim(a, b):
    """Wang et al. 2004: 11x11 Gaussian window (sigma 1.5), K1=.01, K2=.03,
    valid region only; colour = mean over channels."""
    if a.ndim == 3:
        return float(np.mean([ssim(a[..., k], b[..., k]) for k in range(a.shape[2])]))
    x, y = a.astype(np.float64), b.astype(np.float64)
    C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = _blur(x), _blur(y)
    sxx, syy, sxy = _blur(x * x) - mx * mx, _blur(y * y) - my * my, _blur(x * y) - mx * my
    m = ((2 * mx * my + C1) * (2 * sxy + C2)) / ((mx * mx + my * my + C1) * (sxx + syy + C2))
    return float(m.mean())


def load(name, work):
    if name == 'rendered':
        p = os.path.join(work, 'rendered.png')
        txt = ("User: Where did we leave the keys to the lab?\nAssistant: In the second drawer of the desk by the window, "
               "under the blue notebook.\nUser: And the badge for the server room, number 4417?\nAssistant: Maria has it "
               "until Friday; ask her before 17:00.\n") * 3
        run(['pango-view', '--font=DejaVu Sans 11', '--width=520', '--margin=8', '-q', '-o', p, '--text', txt])
        return np.asarray(Image.open(p).convert('L'))
    im = Image.open(os.path.join(SK, name + '.png'))
    return np.asarray(im.convert('L' if name in GRAY else 'RGB'))


def curve_jpeg(img, work):
    pnm = os.path.join(work, 'in.pnm')
    Image.fromarray(img).save(pnm)
    pts = []
    for q in QS:
        jp = os.path.join(work, 'o.jpg')
        run(['cjpeg', '-optimize', '-quality', str(q), '-outfile', jp, pnm])
        dec = np.asarray(Image.open(jp).convert('L' if img.ndim == 2 else 'RGB'))
        pts.append((8 * os.path.getsize(jp) / (img.shape[0] * img.shape[1]), psnr(img, dec), ssim(img, dec), f'q{q}'))
    return pts


def curve_webp(img, work):
    png = os.path.join(work, 'in.png')
    Image.fromarray(img).save(png)
    pts = []
    for q in QS:
        wp, out = os.path.join(work, 'o.webp'), os.path.join(work, 'o_webp.png')
        run(['cwebp', '-quiet', '-m', '6', '-q', str(q), png, '-o', wp])
        run(['dwebp', '-quiet', wp, '-o', out])
        dec = np.asarray(Image.open(out).convert('L' if img.ndim == 2 else 'RGB'))
        pts.append((8 * os.path.getsize(wp) / (img.shape[0] * img.shape[1]), psnr(img, dec), ssim(img, dec), f'q{q}'))
    return pts


def dct_point(img, spec, tpress, work):
    png, tpz, out = (os.path.join(work, f) for f in ('in.png', 'o.tpz', 'o_dct.png'))
    Image.fromarray(img).save(png)
    rep = run([tpress, 'image', 'compress', png, '-o', tpz, '-f', '--codec', spec])
    frame = int(re.search(r'frame (\d+) bytes', rep).group(1))
    run([tpress, 'image', 'decompress', tpz, '-o', out, '-f', '-q'])
    dec = np.asarray(Image.open(out).convert('L' if img.ndim == 2 else 'RGB'))
    return (8 * frame / (img.shape[0] * img.shape[1]), psnr(img, dec), ssim(img, dec), spec, frame)


def interp(pts, rate, k=1):
    pts = sorted(pts, key=lambda p: p[0])
    for a, b in zip(pts, pts[1:]):
        if a[0] <= rate <= b[0]:
            t = (rate - a[0]) / (b[0] - a[0]) if b[0] > a[0] else 0
            return a[k] + t * (b[k] - a[k])
    return None


def fmt(v, d=2):
    return 'n/a' if v is None else f'{v:.{d}f}'


def tokens(work, tpress):
    """Visual tokens: images resized to 168x168, cut into 12x12 patches of
    14x14x3 -> [4, 144, 588], normalised to [-1, 1] like a ViT input."""
    toks = []
    for name in ['astronaut', 'coffee', 'chelsea', 'camera']:
        im = Image.open(os.path.join(SK, name + '.png')).convert('RGB').resize((168, 168), Image.BICUBIC)
        a = np.asarray(im).astype(np.float32) / 127.5 - 1
        t = a.reshape(12, 14, 12, 14, 3).transpose(0, 2, 1, 3, 4).reshape(144, 588)
        toks.append(t)
    x = np.stack(toks).astype(np.float32)
    src = os.path.join(work, 'tok.npy')
    np.save(src, x)
    rows = []

    def measure(spec):
        tpz, out = os.path.join(work, 'tok.tpz'), os.path.join(work, 'tok_out.npy')
        rep = json.loads(run([tpress, 'compress', src, '-o', tpz, '-f', '--codec', spec, '--json']))
        run([tpress, 'decompress', tpz, '-o', out, '-f', '-q'])
        y = np.load(out)
        t = rep['tensors'][0]
        err = lambda m: 10 * np.log10(np.sum(x[m] ** 2) / np.sum((x[m] - y[m]) ** 2))
        kept = np.any(y != 0, axis=2)
        return dict(spec=spec, bytes=t['bytes_out'], ratio=x.nbytes / t['bytes_out'], snr=err(np.ones_like(kept)),
                    snr_kept=err(kept), kept=int(kept.sum() // x.shape[0]))

    ints = [measure(f'int:bits={b},group={g}') for b in (2, 3, 4, 5, 6, 8) for g in (32, 128, 0)]
    for prof in ['mild', 'aggressive', 'extreme']:
        for prune in [0, 72]:
            r = measure(f'tokdct:profile={prof}' + (f',prune={prune}' if prune else ''))
            peer = min(ints, key=lambda i: abs(i['bytes'] - r['bytes']))
            rows.append((r, peer))
    for step in ['0.5', '0.7', '1.0', '1.4']:
        r = measure(f'tokdct:step={step}')
        rows.append((r, min(ints, key=lambda i: abs(i['bytes'] - r['bytes']))))
    return x.shape, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--plot', default='docs/dct_rd.png')
    args = ap.parse_args()
    tpress = os.path.abspath(os.path.join(args.build, 'tpress'))
    speed = os.path.abspath(os.path.join(args.build, 'bench', 'dct_speed'))
    work = tempfile.mkdtemp(prefix='dctbench')
    out = []
    P = out.append
    curves = {}
    method1 = []
    for name in GRAY + ['rendered'] + RGB:
        img = load(name, work)
        c = {'JPEG': curve_jpeg(img, work), 'WebP': curve_webp(img, work)}
        c['dct2d flat'] = [dct_point(img, f'dct2d:quality={q},matrix=flat', tpress, work) for q in DQ]
        c['dct2d jpeg'] = [dct_point(img, f'dct2d:quality={q},matrix=jpeg', tpress, work) for q in DQ]
        c['dct2d flat B8'] = [dct_point(img, f'dct2d:block=8,quality={q},matrix=flat', tpress, work) for q in DQ]
        if img.ndim == 3:
            c['dct2d flat 4:4:4'] = [dct_point(img, f'dct2d:quality={q},matrix=flat,color=ycbcr', tpress, work) for q in DQ]
        curves[name] = (img.shape, c)
        m1 = dct_point(img, 'dct2d:block=14,keep=0.5,quality=0', tpress, work)
        m1q = dct_point(img, 'dct2d:block=14,keep=0.5,quality=90,matrix=flat', tpress, work)
        method1.append((name, img.shape, m1, m1q))
        print(f'done {name}', file=sys.stderr)

    P('### dct2d vs JPEG and WebP: PSNR (dB) at equal bits per pixel\n')
    P('Bits per pixel = 8 x file bytes / (H x W): the whole JPEG/WebP file, the whole tensorpress frame (header, '
      'parameters, checksum). PSNR over all channels; values interpolated linearly between the measured '
      'quality points of each codec. dct2d best = best of its flat-matrix settings at that rate (block 14 or 8; '
      '4:2:0 or 4:4:4 for colour), named in the last column.\n')
    P('| image | size | bpp | JPEG | WebP | dct2d best | dct2d B14 jpeg-matrix | dct2d - JPEG | best dct2d setting |')
    P('|---|---|---|---|---|---|---|---|---|')
    verdict = []
    for name, (shape, c) in curves.items():
        for r in RATES:
            j, w, f, jm = (interp(c[k], r) for k in ('JPEG', 'WebP', 'dct2d flat', 'dct2d jpeg'))
            best, which = f, 'B14' + (' 4:2:0' if len(shape) == 3 else '')
            for key, label in (('dct2d flat 4:4:4', 'B14 4:4:4'), ('dct2d flat B8', 'B8' + (' 4:2:0' if len(shape) == 3 else ''))):
                v = interp(c[key], r) if key in c else None
                if v is not None and (best is None or v > best):
                    best, which = v, label
            d = None if best is None or j is None else best - j
            if d is not None:
                verdict.append((name, len(shape) == 3, r, d))
            P(f'| {name} | {"x".join(map(str, shape))} | {r} | {fmt(j)} | {fmt(w)} | {fmt(best)} | {fmt(jm)} | '
              f'{"n/a" if d is None else f"{d:+.2f}"} | {which} |')
    P('')
    P('### SSIM at equal bits per pixel\n')
    P('| image | bpp | JPEG | WebP | dct2d flat | dct2d jpeg-matrix |')
    P('|---|---|---|---|---|---|')
    for name, (shape, c) in curves.items():
        for r in [0.5, 1.0, 2.0]:
            P(f'| {name} | {r} | ' + ' | '.join(fmt(interp(c[k], r, 2), 4) for k in ('JPEG', 'WebP', 'dct2d flat', 'dct2d jpeg')) + ' |')
    P('')
    P('### Raw rate-distortion points (bpp / PSNR dB)\n')
    for name, (shape, c) in curves.items():
        P(f'- **{name}**: ' + '; '.join(f'{k}: ' + ', '.join(f'{p[0]:.2f}/{p[1]:.1f}' for p in sorted(v)) for k, v in c.items()))
    P('')
    P('### Seed 004 Method 1 (block 14, keep 0.5) in real bytes\n')
    P('The seed keeps the top 50 % of DCT coefficients per 14x14 block and claims "2x storage"; stored as f32 '
      'coefficients plus a significance map (`quality=0`) the bytes are:\n')
    P('| image | raw bytes | Method 1 `keep=0.5,quality=0` bytes | ratio | PSNR | `keep=0.5,quality=90,matrix=flat` bytes | ratio | PSNR |')
    P('|---|---|---|---|---|---|---|---|')
    for name, shape, m1, m1q in method1:
        raw = int(np.prod(shape))
        P(f'| {name} | {raw} | {m1[4]} | {raw / m1[4]:.2f}x | {m1[1]:.2f} | {m1q[4]} | {raw / m1q[4]:.2f}x | {m1q[1]:.2f} |')
    P('')

    # Speed: single core, against libjpeg-turbo in the same process.
    loadavg = open('/proc/loadavg').read().split()[:3]
    P('### Speed (one core, `taskset -c 1`, 40 runs after a warm-up)\n')
    P('MPixel/s = H x W / (encode + decode time) of one `tp_frame_encode` + `tp_frame_decode` (frame header and checksum '
      'included). Main figure: median over the 40 runs of the thread\'s CPU time (`CLOCK_THREAD_CPUTIME_ID`, user + '
      'system, page faults included): on this shared 2-core machine the wall clock of a 4 ms run also counts time '
      'slices given to other jobs, so the median wall-clock figure (next column) measures the load as much as the code; '
      'the fastest wall-clock run is given too. Baseline in the same process: libjpeg-turbo compress (optimized '
      'Huffman, quality 75) + decompress of the same image, run right after each dct2d run; ratio = dct2d speed / '
      'libjpeg-turbo speed per run (CPU times), min / median / max over the 40 runs. '
      f'Load average at the start: {" ".join(loadavg)} (shared 2-core machine).\n')
    P('| image | spec | bpp | dct2d MPixel/s (median CPU) | fastest run (wall) | median wall | libjpeg-turbo MPixel/s (median CPU) | ratio min / median / max |')
    P('|---|---|---|---|---|---|---|---|')
    speed_rows = []
    grey_specs = [f'dct2d:quality={q},matrix=flat' for q in (30, 60, 85)] + \
                 [f'dct2d:block=8,quality={q},matrix=flat' for q in (30, 60, 85)]
    rgb_specs = [f'dct2d:quality={q},matrix=flat' for q in (30, 60, 85)] + \
                [f'dct2d:quality={q},matrix=flat,color=ycbcr' for q in (30, 50, 75)]
    for name, specs in (('camera', grey_specs), ('astronaut', rgb_specs)):
        img = load(name, work)
        h, w = img.shape[:2]
        ch = 3 if img.ndim == 3 else 1
        raw = os.path.join(work, 'img.raw')
        (np.ascontiguousarray(img.transpose(2, 0, 1)) if ch == 3 else img).tofile(raw)
        for spec in specs:
            lines = run(['taskset', '-c', '1', speed, raw, str(ch), str(h), str(w), '40', spec]).split('\n')
            d = lines[0].split()
            j = lines[1].split()
            rr = lines[2].split()
            mp = h * w / float(d[5]) / 1e6
            best = h * w / (float(d[2]) + float(d[3])) / 1e6
            wall = h * w / float(d[4]) / 1e6
            mj = h * w / float(j[5]) / 1e6
            bpp = 8 * int(d[1]) / (h * w)
            speed_rows.append((name, spec, bpp, mp))
            P(f'| {name} | `{spec}` | {bpp:.2f} | {mp:.1f} | {best:.1f} | {wall:.1f} | {mj:.1f} | '
              f'{float(rr[1]):.2f} / {float(rr[2]):.2f} / {float(rr[3]):.2f} |')
    P('')

    shape, rows = tokens(work, tpress)
    P(f'### tokdct on visual tokens {list(shape)} (f32; 4 images at 168x168 cut into 12x12 patches of 14x14x3)\n')
    P('SNR over all tokens (pruned tokens decode as zeros and count as error) and over the kept tokens only; the '
      '`int` row is the `int:bits=b,group=g` setting whose bytes are closest.\n')
    P('| spec | bytes | ratio | SNR dB | SNR kept dB | tokens kept | int peer | int bytes | int SNR dB |')
    P('|---|---|---|---|---|---|---|---|---|')
    for r, i in rows:
        P(f'| `{r["spec"]}` | {r["bytes"]} | {r["ratio"]:.2f}x | {r["snr"]:.2f} | {r["snr_kept"]:.2f} | {r["kept"]} | '
          f'`{i["spec"]}` | {i["bytes"]} | {i["snr"]:.2f} |')
    P('')

    # Verdict lines.
    g = [v for v in verdict if not v[1] and 0.5 <= v[2] <= 2.0]
    cc = [v for v in verdict if v[1] and 0.5 <= v[2] <= 2.0]
    P('### Bars\n')
    if g:
        worst = min(g, key=lambda v: v[3])
        P(f'- grey, 0.5-2 bpp, dct2d PSNR >= JPEG: {"PASS" if worst[3] >= 0 else "MISS"} '
          f'(worst {worst[3]:+.2f} dB: {worst[0]} at {worst[2]} bpp; {sum(v[3] >= 0 for v in g)}/{len(g)} points)')
    if cc:
        worst = min(cc, key=lambda v: v[3])
        P(f'- colour, 0.5-2 bpp, dct2d within 0.5 dB of JPEG: {"PASS" if worst[3] >= -0.5 else "MISS"} '
          f'(worst {worst[3]:+.2f} dB: {worst[0]} at {worst[2]} bpp)')
    if speed_rows:
        worst = min(speed_rows, key=lambda v: v[3])
        P(f'- speed, encode+decode >= 50 MPixel/s per core (median thread CPU time, every row of the speed table, '
          f'{min(v[2] for v in speed_rows):.2f}-{max(v[2] for v in speed_rows):.2f} bpp): '
          f'{"PASS" if worst[3] >= 50 else "MISS"} (slowest {worst[3]:.1f} MPixel/s: {worst[0]} `{worst[1]}` at {worst[2]:.2f} bpp)')
    P('''
### Notes

- dct2d's gain over JPEG at equal bytes comes from three things: the flat
  matrix (JPEG's perceptual matrix costs 1.5-3.5 dB PSNR: compare the
  `jpeg-matrix` column), static per-band rANS tables for run/category tokens
  instead of Huffman, and the dead-zone quantizer. WebP (VP8 intra prediction + boolean
  coder) is ahead of dct2d at low rates on most images and far ahead on the
  rendered text, where block transforms ring around glyph edges.
- Block size matters per image: 8x8 wins on the grey images (page.png carries
  an 8x8 grid from an earlier JPEG life, hence also JPEG's jump above
  1.5 bpp), 14x14 on the colour photographs. With block 14 alone, page falls
  below JPEG above 1.5 bpp (raw points above).
- Seed 004 Method 1 stores nothing in the seed; stored for real with f32
  coefficients (`quality=0`) it is 2.2x *larger* than the u8 grey image, and
  about the raw size for colour (the seed's "2x" counts coefficients, not
  bytes). With quantization (`quality=90`) the same keep=0.5 setting gives
  3-10x at about the same PSNR.
- Speed (issue 8): where the time went at 2 bpp before (perf, camera
  `quality=85`): token decoding 27 % (one rANS state: every token waited on
  the previous token's multiply, table look-up and refill, with 4 KiB
  tables per context in L2), the rANS encoder's division chain 14 %, the
  AVX2 DCT 9 + 9 % (it gathered and scattered lanes through memory and ran
  one dependent FMA chain per output), token writing 10 %. Changes, each
  measured: DCT with 8x8 register transposes and independent accumulators
  (2.1 -> 1.0 ns/px for B = 14), then the even-odd split (0.79 ns/px);
  quantization fused into the forward kernel (no gathers); token format 1
  (four interleaved rANS states, 10-bit probabilities, tables in L1;
  frames of format 0 still decode); reciprocal instead of division and
  branch-free byte output in the encoder; raw bits and tokens written
  through a register-held cursor; colour conversion, 4:2:0 resampling and
  the u8 output row by row (no full-size intermediate planes; AVX2 u8
  store). Before (fastest of 20 runs with this bench program at the start
  of the work, load 3.8): 78 / 59 / 39 MPixel/s grey B14 at 0.54 / 1.08 /
  1.99 bpp, 47 / 41 / 32 colour 4:2:0 at 0.60 / 1.09 / 2.25 bpp (the table
  this replaces showed 11 at 2.25 bpp, a load artefact). Quality: bytes
  +0.03-0.05 % (coarser probabilities, 12 more state bytes), PSNR within
  0.03 dB of before at every point above. The even-odd DCT gives exact
  zeros where the full product left float noise (flat areas), so the
  `quality=0` Method 1 frames of rendered and astronaut got smaller. The slowest rows are the 2 bpp
  ones, where the token count grows (about 200k tokens per 512x512 image):
  token decoding is still the largest part (about a fifth), then the two
  DCTs. Under a high load average the median wall-clock column drops below
  the CPU-time one (other jobs take time slices of core 1): an earlier run
  of this bench at load 8 had 46 MPixel/s median wall against 61 CPU for
  4:4:4 at 1.95 bpp; the CPU-time and fastest-run figures agree with each
  other from run to run (within about 7 %).
- tokdct codes are rANS-coded per band. Fixed band bits (`low=`/`mid=`/
  `high=`, band scale = max|c| / qmax; what the profiles were before tokdct
  payload version 1) lose to plain `int` quantization at equal bytes on
  these tokens: raw 14x14-pixel patches are not smooth across the 12x12
  grid, so a dropped or 2-4-bit high band carries much of the signal. One
  quantizer step for all bands (`step=`, and the profiles since version 1:
  mild 1, aggressive 1.5, extreme 2) spends the bits where the variance is
  (reverse water-filling, 8-bit codes left to rANS); the `int` peer column
  picks the closest bytes, not the best `int` curve. Pruning 144 -> 72
  tokens codes the kept tokens only (shape-adaptive DCT), so the stored
  bytes fall with the tokens kept.
''')
    print('\n'.join(out))

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(curves)
    fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(4.2 * ((len(names) + 1) // 2), 7.5))
    for ax, name in zip(axes.flat, names):
        for k, v in curves[name][1].items():
            v = sorted(v)
            ax.plot([p[0] for p in v], [p[1] for p in v], marker='.', label=k)
        ax.set_xlim(0, 3)
        ax.set_title(name)
        ax.set_xlabel('bits per pixel')
        ax.set_ylabel('PSNR dB')
        ax.grid(alpha=.3)
    axes.flat[0].legend(fontsize=7)
    axes.flat[len(GRAY) + 1].legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(args.plot, dpi=90)


if __name__ == '__main__':
    main()
