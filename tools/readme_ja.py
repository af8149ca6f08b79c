"""The Japanese README's own words: what tools/make_readme.py writes into README.ja.md where it
writes English into README.md. Each stage's docstring is kept beside its translation, as
the English it was translated from, so that make_readme and the tests can tell when a
docstring changes and its translation has not (translate it again, and copy the new
English here).
"""

from typing import Any

WORDS: dict[str, Any] = {
    "table_header": "| # | ステージ | 追加するもの | 学習率 | ステップ数 | diff がほかに変えるものと、その理由 |",
    # 各ステージの diff がレッスン以外に変えるもの（初期値、オプティマイザ、設定）とその理由。
    # 学習率とステップ数はそれぞれの列にある。
    "also_changes": {
        "fit_numpy.py": "最初のステージ。シード 0 を与えた NumPy の乱数生成器が、4 つの初期値を決めます。",
        "fit_tensor.py": "float64 の代わりに float32 を使い、初期値を torch の乱数生成器から得るので、"
        "最初の損失はステージ 1 とは異なります。",
        "fit_autograd.py": "ほかには何も変えません。初期値も学習率もステージ 2 と同じなので、"
        "ログは float32 の丸め誤差の範囲でステージ 2 と一致します。",
        "fit_newautograd.py": "別のモデル a + b P3(c + d x) を、乱数ではなく答えに近い固定値 "
        "(a, b, c, d) = (0, -1, 0, 0.3) から始めます。torch の乱数による初期値からでは発散するからです"
        "（ウォークスルーを参照）。学習率は、このモデルに対してチュートリアル自身が使う 5e-6 です。",
        "fit_nn.py": "ステージ 4 を元に戻します。3 次式、乱数による初期値（層が初期値を決める前に torch の"
        "シードを設定します）、学習率 1e-6 に戻るので、ステージ 3 と比べて読むのもおすすめです。",
        "fit_optim.py": "学習率は 1e-3 で、1000 倍の大きさです。RMSprop の 1 回の更新幅は、学習率に勾配を"
        "掛けたものではなく、ほぼ学習率そのものだからです。",
        "fit_custom_nn.py": "RMSprop から素朴な勾配降下（学習率 1e-6 の torch.optim.SGD）に戻し、"
        "初期値をステージ 2 と同じにするので、ログはステージ 2、3 と一致します。",
        "fit_ctlflow_wshare.py": "モーメンタム 0.9 の SGD、学習率 1e-8、30,000 ステップ。x^4 と x^5 で損失が"
        "ずっと急峻になるので学習率を小さくし、その分の一部をモーメンタムと 3 倍のステップ数で補います。",
    },
    "first_stage": "（最初のステージ）",
    "whole_fit": "当てはめの全体を、すべて手で書いています:",
    "changes": "ステージ {number} からの変更点です。`diff -u {previous} {stage}` で変わる行は全部で {changed} 行あります。"
    "ここでは、上に引用したドキュメンテーション文字列を除いて示します。",
    "prints": "`python {stage}` を実行すると、次のように表示されます:",
    "figure_alt": "{stage} の当てはめ: データ、このステージの 3 次式、最小二乗の 3 次式と、それぞれの残差",
    "break_heading": "壊してみる: {name}",
    "break_intro": "`{command}` は、この変更を加えた {stage} のコピーを `{flags}` を付けて実行します:",
    "break_prints": "次のように表示されます:",
    "break_status": "そして、終了ステータス {status} で終わります。",
    "stopping_short": "ステップ 2000 でのステージ 1 の損失は {loss_2000} で、下限 {floor} より {gap_2000} % 上にあります。"
    "ステップ 4000 では下限より {gap_4000} % 上、ステップ {reached} までには下限との差が下限の 100 万分の 1 未満になります。",
    "measured": "{date} に `python tools/benchmark.py` で測定しました。デバイス: {devices}。torch {torch}"
    "（{cores} コアで torch のスレッド {threads} 個）、NumPy {numpy}。",
    "columns": (
        "ステージ",
        "点の数",
        "デバイス",
        "1 ステップの時間（中央値）",
        "最小 - 最大",
        "1 秒あたりのステップ数",
        "CPU に対する高速化",
    ),
    "crossovers": "この表で速さが逆転するところ:",
    "numpy": "NumPy (ステージ 1)",
    "torch_on_cpu": "CPU 上の torch (ステージ 2)",
    "cpu": "CPU",
    "on_device": "`{device}` 上の {stage}",
    "overtakes": "{faster} は {below:,} 点と {above:,} 点の間で {slower} を追い越します。",
    "faster_everywhere": "{faster} は、測定したすべてのサイズ（最小の {smallest:,} 点から）で {slower} より速くなっています。",
    "never_overtakes": "{faster} は、測定した最大の {largest:,} 点まで {slower} を追い越しません。",
    "gpu_to_come": "**GPU の数値はまだありません**。この測定にはアクセラレータが加わっていません。"
    "アクセラレータ（CUDA、MPS など）のある環境で同じコマンドを実行すると、torch の各ステージと各サイズについてそのデバイスの行が加わり"
    "（20,000,000 点はすべてのデバイスで測ります）、CPU に対する高速化、図の各パネルでのそのデバイスの線、"
    "そしてどこで CPU を追い越すかも示されます。",
}

# stage: ((English title, English paragraphs), (Japanese title, Japanese paragraphs))
DOCSTRINGS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "fit_numpy.py": (
        (
            "fit y = sin(x) with a cubic, every step written out by hand in NumPy",
            "The prediction, the loss and the gradient of the loss with respect to each coefficient\nare all spelled out here, the gradients derived on paper with the chain rule. Each later\nstage hands one of these jobs to PyTorch.",
        ),
        (
            "y = sin(x) を 3 次式で当てはめる（すべて NumPy で手書き）",
            "予測、損失、そして各係数についての損失の勾配を、ここではすべて自分で書き下します。勾配は連鎖律を使って紙の上で導いたものです。以降のステージでは、これらの仕事を 1 つずつ PyTorch に任せていきます。",
        ),
    ),
    "fit_tensor.py": (
        (
            "the same fit with torch tensors, on the CPU or an accelerator",
            "A tensor is PyTorch's array: much like NumPy's, with many of the same operations (some\nunder other names), plus the device it lives on. The gradients are still derived by hand,\nand --device moves the whole computation to an accelerator without touching the code.\nTwo things change besides the array library: the numbers are float32, not float64, and\nthe start values come from torch's random generator, not NumPy's. So the first loss is\nnot stage 1's, and at the floor the last digits wander.",
        ),
        (
            "同じ当てはめを torch のテンソルで（CPU でもアクセラレータでも）",
            "テンソルは PyTorch の配列です。NumPy の配列とよく似ていて、同じ演算の多くがそのまま使え（別の名前のものもあります）、さらにどのデバイス上にあるかという情報を持っています。勾配はまだ手で導いたものを使いますが、--device を指定すれば、コードに手を加えずに計算全体をアクセラレータに移せます。配列ライブラリ以外にも変わる点が 2 つあります。数値は float64 ではなく float32 になり、初期値は NumPy ではなく torch の乱数生成器から得ます。そのため最初の損失はステージ 1 とは異なり、下限に達したあとも末尾の桁が揺れ動きます。",
        ),
    ),
    "fit_autograd.py": (
        (
            "autograd computes the gradients",
            "Once a tensor requires grad, every operation that uses it records, in its result's\ngrad_fn, how to pass a gradient back. loss.backward() follows those records from the\nloss back to a, b, c and d and adds d(loss)/d(coefficient) to each one's .grad: the chain\nrule of stage 2, done by PyTorch. The start values and the arithmetic are stage 2's, so\nthe log matches stage 2's to float32 rounding.",
        ),
        (
            "自動微分 (autograd) が勾配を計算する",
            "テンソルに requires_grad が設定されると、そのテンソルを使うすべての演算は、勾配をどう逆伝播させるかを結果の grad_fn に記録します。loss.backward() はこの記録を損失から a, b, c, d までさかのぼり、それぞれの .grad に d(loss)/d(coefficient)、つまり損失をその係数で微分した値を加えます。ステージ 2 で手で書いた連鎖律を、PyTorch が代わりに実行してくれるわけです。初期値も計算もステージ 2 と同じなので、ログは float32 の丸め誤差の範囲でステージ 2 と一致します。",
        ),
    ),
    "fit_newautograd.py": (
        (
            "a new autograd operation, with a forward and a backward of our own",
            "Autograd has a backward for each of torch's differentiable operations. A\ntorch.autograd.Function adds an operation of our own: its forward computes the result\nwith autograd's recording off, so its backward must say how a gradient passes back, from\nd(loss)/d(result) to d(loss)/d(input). Here the operation is the Legendre polynomial P3,\nand the model is y = a + b P3(c + d x). P3 is made of operations autograd could\ndifferentiate itself, so this is an illustration: a real Function pays off for an\noperation torch cannot see into (a call to another library, say) or a backward cheaper or\nmore stable than the recorded one.",
        ),
        (
            "新しい autograd の演算を、独自の forward と backward で作る",
            "autograd は、torch の微分可能な演算それぞれについて backward を持っています。torch.autograd.Function を使うと、独自の演算を追加できます。その forward は autograd の記録を止めた状態で結果を計算するので、勾配がどう逆伝播するか、つまり d(loss)/d(result) から d(loss)/d(input) をどう求めるかは、backward に自分で書かなければなりません。ここでの演算はルジャンドル多項式 P3 で、モデルは y = a + b P3(c + d x) です。P3 は autograd が自分で微分できる演算だけでできているので、これはあくまで説明のための例です。本当に Function が役に立つのは、torch が中身を見られない演算（たとえば別のライブラリの呼び出し）を扱う場合や、記録された計算よりも安価な、あるいは数値的に安定した backward を書ける場合です。",
        ),
    ),
    "fit_nn.py": (
        (
            "torch.nn builds the model and the loss",
            'The cubic is a linear layer: its inputs are the features x, x^2, x^3 of each point, its\nweights are b, c, d and its bias is a. torch.nn.Linear holds them in two Parameters,\ntensors that require grad from the start: weight, of shape (1, 3), and bias, of shape\n(1,). It draws their start values itself, so the first loss is not stage 3\'s.\ntorch.nn.MSELoss(reduction="sum") computes the sum of squared errors. The update is still\nwritten by hand.',
        ),
        (
            "torch.nn でモデルと損失を組み立てる",
            '3 次式は線形層として書けます。入力は各点の特徴量 x, x^2, x^3、重みは b, c, d、バイアスは a です。torch.nn.Linear はこれらを 2 つのパラメータ（Parameter、つまり最初から勾配を必要とするテンソル）に保持します。形が (1, 3) の weight と、形が (1,) の bias です。初期値も Linear が自分で乱数から決めるので、最初の損失はステージ 3 とは違います。torch.nn.MSELoss(reduction="sum") は二乗誤差の和を計算します。更新はまだ手で書いています。',
        ),
    ),
    "fit_optim.py": (
        (
            "torch.optim does the update",
            "An optimizer holds the model's parameters and knows how to step them: zero_grad() clears\ntheir gradients and step() applies its update rule. This stage uses RMSprop, which divides\neach parameter's step by the root of a running average of its squared gradients, so the\nsize of a step is set by the learning rate rather than by the size of the gradient: which\nis why the rate is so much larger here. The running averages are state the optimizer\nkeeps for each parameter from one step to the next, which is why it is made once, before\nthe loop. At a constant rate RMSprop keeps taking steps of about that size, back and forth\nacross the best cubic, so it ends about 1 % above the floor rather than on it.",
        ),
        (
            "torch.optim が更新を行う",
            "オプティマイザはモデルのパラメータを保持し、それらを更新する方法を知っています。zero_grad() で勾配をクリアし、step() で更新規則を適用します。このステージでは RMSprop を使います。RMSprop は各パラメータの更新幅を、そのパラメータの勾配の二乗の移動平均の平方根で割ります。そのため 1 回の更新幅は、勾配の大きさではなく学習率で決まります。ここで学習率がずっと大きいのはそのためです。移動平均は、オプティマイザが各パラメータについてステップをまたいで保持する状態です。オプティマイザをループの前で一度だけ作るのはそのためです。学習率が一定だと RMSprop はいつまでもその程度の大きさのステップを取り続け、最良の 3 次式をはさんで行ったり来たりするので、下限ちょうどではなく、下限より約 1 % 上で終わります。",
        ),
    ),
    "fit_custom_nn.py": (
        (
            "a model of our own, as a torch.nn.Module subclass",
            "A Module subclass declares its parameters in __init__ and computes its output in forward.\nHere the parameters are the cubic's four coefficients, each a scalar torch.nn.Parameter,\nand forward is the cubic itself, so the model reads like the formula. torch.optim.SGD does\nthe plain gradient descent step of stages 1 to 5. The start values and the arithmetic are\nstage 2's, so the log matches stage 2's to float32 rounding.",
        ),
        (
            "torch.nn.Module のサブクラスとして独自のモデルを作る",
            "Module のサブクラスは、__init__ でパラメータを宣言し、forward で出力を計算します。ここではパラメータは 3 次式の 4 つの係数で、それぞれがスカラーの torch.nn.Parameter です。forward は 3 次式そのものなので、モデルは数式のように読めます。torch.optim.SGD は、ステージ 1 から 5 までと同じ素朴な勾配降下のステップを行います。初期値も計算もステージ 2 と同じなので、ログは float32 の丸め誤差の範囲でステージ 2 と一致します。",
        ),
    ),
    "fit_ctlflow_wshare.py": (
        (
            "Python control flow in forward, and one weight used twice",
            "forward is ordinary Python, run anew at every step, so it can branch and loop. Here each\npass draws at random the degree of the polynomial: the cubic alone, or plus e x^4, or plus\ne x^4 + e x^5. Autograd records whatever ran, and a weight used in two places receives the\nsum of both gradients. The log names each logged loss's degree: a degree-5 pass adds\ne (x^4 + x^5), whose odd x^5 can follow sin closer than any cubic (x^4 is even and cannot\nhelp), so its loss can fall below the cubic's floor. x^4 and x^5 make the loss far steeper, so the rate is\nmuch smaller; momentum (each step carries on 0.9 of the last) and three times the steps\nmake up for part of that, and at step 30000 the fit is still coming down.",
        ),
        (
            "forward の中の Python の制御フローと、2 回使われる 1 つの重み",
            "forward はふつうの Python のコードで、ステップごとに改めて実行されるので、分岐もループも使えます。ここでは順伝播のたびに多項式の次数をランダムに選びます。3 次式だけか、それに e x^4 を足したものか、e x^4 + e x^5 を足したものです。autograd は実際に実行された計算を記録し、2 か所で使われた重みには両方の勾配の和が入ります。ログには、出力した損失がそれぞれどの次数の回のものかを表示します。次数 5 の回は e (x^4 + x^5) を足します。そのうち奇関数の x^5 は、どんな 3 次式よりも sin に近づけるので（偶関数の x^4 は役に立ちません）、その回の損失は 3 次式の下限を下回ることがあります。x^4 と x^5 があると損失はずっと急峻になるので、学習率はずっと小さくしてあります。モーメンタム（各ステップが直前のステップの 0.9 を引き継ぎます）と 3 倍のステップ数でその一部を補っていますが、ステップ 30000 の時点でも当てはめはまだ改善し続けています。",
        ),
    ),
}
