using System.Net;
using System.Text;
using Constellation.Core.Results;

namespace Constellation.Reports.Html;

/// <summary>Renders a <see cref="ReportSection"/> as HTML for the run report; every text is escaped.</summary>
public static class SectionHtml
{
    /// <summary>The section with its heading, in a &lt;section&gt;.</summary>
    public static void Append(StringBuilder sb, ReportSection section)
    {
        sb.Append("<section><h2>").Append(E(section.Title)).Append("</h2>\n");
        AppendBlocks(sb, section.Blocks);
        sb.Append("</section>\n");
    }

    /// <summary>The blocks alone, inside a section the caller opened.</summary>
    public static void AppendBlocks(StringBuilder sb, IEnumerable<ReportBlock> blocks)
    {
        foreach (var block in blocks)
        {
            switch (block)
            {
                case TextBlock t:
                    sb.Append("<p").Append(Class(t.Tone)).Append('>').Append(Text(t.Parts)).Append("</p>\n");
                    break;
                case ListBlock l:
                    sb.Append("<ul>");
                    foreach (var item in l.Items)
                    {
                        sb.Append("<li").Append(Class(item.Tone)).Append('>').Append(Text(item.Parts)).Append("</li>");
                    }

                    sb.Append("</ul>\n");
                    break;
                case TableBlock table:
                    sb.Append("<div class=\"scroll\"><table><thead><tr>");
                    foreach (var c in table.Columns)
                    {
                        sb.Append("<th>").Append(E(c)).Append("</th>");
                    }

                    sb.Append("</tr></thead><tbody>\n");
                    foreach (var row in table.Rows)
                    {
                        sb.Append("<tr").Append(Class(row.Tone)).Append('>');
                        foreach (var cell in row.Cells)
                        {
                            sb.Append("<td").Append(Class(cell.Tone));
                            if (cell.Title is { } title)
                            {
                                sb.Append(" title=\"").Append(E(title)).Append('"');
                            }

                            sb.Append('>').Append(cell.Code ? $"<code>{E(cell.Text)}</code>" : E(cell.Text)).Append("</td>");
                        }

                        sb.Append("</tr>\n");
                    }

                    sb.Append("</tbody></table></div>\n");
                    break;
            }
        }
    }

    private static string Class(Tone tone) => tone switch
    {
        Tone.Note => " class=\"note\"",
        Tone.Pass => " class=\"pass\"",
        Tone.Fail => " class=\"fail\"",
        Tone.Skipped => " class=\"skipped\"",
        Tone.Warning => " class=\"breaking\"",
        Tone.Error => " class=\"error\"",
        _ => string.Empty,
    };

    private static string Text(IEnumerable<Inline> parts) => string.Concat(parts.Select(p => p.Code ? $"<code>{E(p.Text)}</code>" : p.Strong ? $"<strong>{E(p.Text)}</strong>" : E(p.Text)));

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
