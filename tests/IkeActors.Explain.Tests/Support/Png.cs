using System.Buffers.Binary;
using System.IO.Compression;

namespace IkeActors.Explain.Tests.Support;

/// <summary>Just enough PNG reading (RFC 2083: 8-bit RGB/RGBA, non-interlaced) to tell a rendered page from a blank one.</summary>
internal static class Png
{
    public sealed record Image(int Width, int Height, int Channels, byte[] Pixels);

    public static Image Read(string path)
    {
        var data = File.ReadAllBytes(path);
        if (data.Length < 8 || data[0] != 0x89 || data[1] != (byte)'P') throw new InvalidDataException("not a PNG");
        int width = 0, height = 0, bitDepth = 0, colorType = 0, interlace = 0;
        using var idat = new MemoryStream();
        var pos = 8;
        while (pos + 8 <= data.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(pos));
            var type = System.Text.Encoding.ASCII.GetString(data, pos + 4, 4);
            var body = data.AsSpan(pos + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(body); height = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                bitDepth = body[8]; colorType = body[9]; interlace = body[12];
            }
            else if (type == "IDAT") idat.Write(body);
            else if (type == "IEND") break;
            pos += 12 + length;
        }
        if (bitDepth != 8 || interlace != 0 || colorType is not (2 or 6)) throw new InvalidDataException($"unsupported PNG: depth {bitDepth}, color {colorType}, interlace {interlace}");
        var channels = colorType == 6 ? 4 : 3;
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        var src = raw.ToArray();
        var stride = width * channels;
        var pixels = new byte[stride * height];
        for (var y = 0; y < height; y++)
        {
            var filter = src[y * (stride + 1)];
            var line = src.AsSpan(y * (stride + 1) + 1, stride);
            var outLine = pixels.AsSpan(y * stride, stride);
            for (var x = 0; x < stride; x++)
            {
                int a = x >= channels ? outLine[x - channels] : 0;
                int b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
                int c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
                var v = filter switch
                {
                    0 => line[x],
                    1 => line[x] + a,
                    2 => line[x] + b,
                    3 => line[x] + (a + b) / 2,
                    4 => line[x] + Paeth(a, b, c),
                    _ => throw new InvalidDataException($"filter {filter}"),
                };
                outLine[x] = (byte)v;
            }
        }
        return new Image(width, height, channels, pixels);
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    /// <summary>Number of distinct colours (RGB), capped.</summary>
    public static int Colours(Image img, int cap = 1000)
    {
        var set = new HashSet<int>();
        for (var i = 0; i + 2 < img.Pixels.Length; i += img.Channels)
        {
            set.Add(img.Pixels[i] << 16 | img.Pixels[i + 1] << 8 | img.Pixels[i + 2]);
            if (set.Count >= cap) break;
        }
        return set.Count;
    }

    /// <summary>Share of pixels that are not (near) white.</summary>
    public static double Ink(Image img)
    {
        long ink = 0, total = 0;
        for (var i = 0; i + 2 < img.Pixels.Length; i += img.Channels)
        {
            total++;
            if (img.Pixels[i] < 235 || img.Pixels[i + 1] < 235 || img.Pixels[i + 2] < 235) ink++;
        }
        return total == 0 ? 0 : (double)ink / total;
    }

    /// <summary>Pixels close to a colour (the failure red #c00000, the arrow blue #1f4e79).</summary>
    public static long Count(Image img, int r, int g, int b, int tolerance = 40)
    {
        long n = 0;
        for (var i = 0; i + 2 < img.Pixels.Length; i += img.Channels)
            if (Math.Abs(img.Pixels[i] - r) <= tolerance && Math.Abs(img.Pixels[i + 1] - g) <= tolerance && Math.Abs(img.Pixels[i + 2] - b) <= tolerance) n++;
        return n;
    }
}
