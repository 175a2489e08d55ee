//! The report's HTML pieces: escaping, the style, the charts (inline SVG)
//! and the few lines of script that sort and filter the table.

use std::fmt::Write as _;

use super::PacePoint;

/// Text as HTML: every character that could open markup is an entity.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

pub const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}\
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1.2em}dt{font-weight:600}dd{margin:0;word-break:break-all}\
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}\
th{background:#f4f4f4;cursor:pointer;position:sticky;top:0}td.changes{white-space:pre-wrap}\
.bad{color:#a40000}.note{color:#555}svg text{font:12px system-ui,sans-serif}\
.outcome-created,.outcome-create{color:#0a6b0a}.outcome-failed,.outcome-fail,.outcome-invalid,.outcome-conflict{color:#a40000;font-weight:600}";

/// Filters the table by outcome and sorts it by a clicked header; the
/// page is complete without it.
pub const SCRIPT: &str = "<script>\
(function(){var f=document.getElementById('outcome-filter');var t=document.getElementById('rows');if(!t)return;\
if(f){f.hidden=false;f.addEventListener('change',function(){var v=f.value;\
t.querySelectorAll('tbody tr').forEach(function(r){r.hidden=v!==''&&r.dataset.outcome!==v;});});}\
t.querySelectorAll('th').forEach(function(h,i){h.addEventListener('click',function(){var b=t.tBodies[0];\
var rs=Array.prototype.slice.call(b.rows);var d=h.dataset.dir==='a'?-1:1;h.dataset.dir=d>0?'a':'d';\
rs.sort(function(x,y){var p=x.cells[i].textContent,q=y.cells[i].textContent;var m=parseFloat(p),n=parseFloat(q);\
return d*(!isNaN(m)&&!isNaN(n)?m-n:p.localeCompare(q));});rs.forEach(function(r){b.appendChild(r);});});});})();\
</script>\n";

/// The counts as horizontal bars, each labelled with its name and number.
pub fn bars(counts: &[(String, u64)]) -> String {
    let most = counts.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let height = 24 * counts.len() + 8;
    let mut svg = format!(
        "<svg class=\"counts\" role=\"img\" aria-label=\"outcome counts\" width=\"640\" height=\"{height}\" viewBox=\"0 0 640 {height}\">"
    );
    for (i, (name, count)) in counts.iter().enumerate() {
        let y = 4 + i * 24;
        let width = (*count as f64 / most as f64 * 400.0).max(2.0);
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"150\" y=\"{y}\" width=\"{width:.0}\" height=\"18\" fill=\"{}\"></rect><text x=\"{:.0}\" y=\"{}\">{count}</text>",
            y + 14,
            escape(name),
            colour(name),
            155.0 + width,
            y + 14
        );
    }
    svg.push_str("</svg>\n");
    // The same numbers as text, for readers without SVG and for search.
    svg.push_str("<p class=\"counts-text\">");
    let listed: Vec<String> = counts
        .iter()
        .map(|(name, n)| format!("{n} {}", escape(name)))
        .collect();
    svg.push_str(&listed.join(", "));
    svg.push_str("</p>\n");
    svg
}

fn colour(outcome: &str) -> &'static str {
    match outcome {
        "failed" | "fail" | "invalid" | "conflict" | "not_attempted" => "#c0392b",
        "skipped" | "skip" | "protected" | "pending" | "filtered" => "#b7950b",
        "unchanged" => "#95a5a6",
        _ => "#2e86c1",
    }
}

/// Requests and 429s per second over the run, as two lines.
pub fn pace_chart(pace: &[PacePoint]) -> String {
    let (width, height) = (640.0, 160.0);
    let seconds = pace.last().map_or(1, |p| p.0).max(1) as f64;
    let most = pace.iter().map(|p| p.1.max(p.2)).max().unwrap_or(1).max(1) as f64;
    let line = |pick: fn(&PacePoint) -> u64| -> String {
        pace.iter()
            .map(|p| {
                let x = 40.0 + p.0 as f64 / seconds * (width - 50.0);
                let y = height - 20.0 - pick(p) as f64 / most * (height - 30.0);
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let peak = pace.iter().map(|p| p.1).max().unwrap_or(0);
    let throttled: u64 = pace.iter().map(|p| p.2).sum();
    format!(
        "<svg role=\"img\" aria-label=\"requests per second\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\
         <polyline fill=\"none\" stroke=\"#2e86c1\" stroke-width=\"2\" points=\"{}\"></polyline>\
         <polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"{}\"></polyline>\
         <text x=\"0\" y=\"14\">{most:.0}/s</text><text x=\"0\" y=\"{:.0}\">0</text>\
         <text x=\"{:.0}\" y=\"{height}\">{seconds:.0} s</text></svg>\n\
         <p class=\"note\">Blue: requests per second (peak {peak}); red: answers 429 ({throttled} in all).</p>\n",
        line(|p| p.1),
        line(|p| p.2),
        height - 20.0,
        width - 40.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_text() {
        let hostile = "<script>alert('x')</script>&\"=HYPERLINK()";
        let escaped = escape(hostile);
        assert!(!escaped.contains('<') && !escaped.contains('>') && !escaped.contains('"'));
        assert!(escaped.contains("&lt;script&gt;"));
    }
}
