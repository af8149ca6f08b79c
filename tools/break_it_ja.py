"""The Japanese of each breakage's why in tools/break_it.py, for the Japanese walkthrough.

Each translation is kept beside the English it was translated from, keyed "stage:name" as
Breakage.key gives it, so that a test fails when a why changes and its translation has not:
then translate it again, and copy the new English here.
"""

# Translated text: a sentence is one string, however long (as in tools/readme_ja.py).

WHY: dict[str, tuple[str, str]] = {
    "fit_numpy.py:grad-c-copied": (
        "This is grad_b's line copied for c with x**2 left as x, so c now steps along b's gradient, "
        "which says nothing about c. The loss falls at first, then creeps up and stays far above the "
        "floor: b and d come out near the least-squares values, but a and c, which should be about "
        "zero, do not. Nothing warns of a wrong hand-derived gradient, which is one reason stage 3 "
        "hands the job to autograd.",
        "これは grad_b の行を c 用に写したもので、x**2 が x のまま残っています。"
        "そのため c は、c について何も語らない b の勾配に沿って動きます。"
        "損失は初めは下がりますが、やがてじわじわと上がり、下限よりずっと上にとどまります。"
        "b と d は最小二乗の値の近くに落ち着きますが、ほぼ 0 になるはずの a と c はそうなりません。"
        "手で導いた勾配が間違っていても何の警告も出ないことが、ステージ 3 でこの仕事を autograd に任せる理由の一つです。",
    ),
    "fit_numpy.py:sign-flipped": (
        "With the error's sign turned round every gradient points the other way, so each step climbs "
        "the loss instead of descending it. The loss grows by about the same factor at every logged "
        "step until it overflows to inf and the stage's own check stops the run. The message suggests "
        "a smaller rate, but none helps here: a smaller one only climbs more slowly.",
        "誤差の符号を逆にすると、すべての勾配が反対を向くので、一歩ごとに損失を下るのではなく登ります。"
        "損失はログの各行でほぼ同じ倍率で増え、inf にオーバーフローしたところで、ステージ自身のチェックが実行を止めます。"
        "メッセージは学習率を小さくするよう勧めますが、ここではどの学習率も役に立ちません。"
        "小さくしても、登る速さが遅くなるだけです。",
    ),
    "fit_tensor.py:mean-loss": (
        "The printed loss is now the mean, the sum divided by the number of points, so it ends far "
        "below the floor that no cubic's sum of squares can pass. Nothing else changes, and the "
        "Result line is the unbroken stage's after as many steps: these gradients were derived by hand from the sum and "
        "never read the loss line. Under autograd the same change reaches the gradients, as stage 5's "
        "mean-loss shows.",
        "表示される損失は平均、つまり和を点の数で割ったものになるので、どの 3 次式の二乗和も下回れない下限よりはるかに下で終わります。"
        "ほかには何も変わらず、Result の行も、同じステップ数だけ実行した壊していないステージと同じです。"
        "ここの勾配は和から手で導いたもので、損失の行を一度も読まないからです。"
        "autograd のもとでは同じ変更が勾配にまで届きます。"
        "ステージ 5 の mean-loss がそれを示します。",
    ),
    "fit_tensor.py:requires-grad": (
        "Asking autograd to track a, and changing nothing else, ends the run at the first update (on the "
        "CPU, where .to() hands back a itself, still a leaf). With recording on, `a -= ...` would become part of a's own history, and a leaf is a tensor "
        "with no history, so PyTorch refuses to change a leaf that requires grad in place. That is "
        "why stage 3 makes its update under torch.no_grad().",
        "a を autograd に追跡させるよう頼むだけで、ほかに何も変えなくても、実行は最初の更新で終わります（CPU の場合。CPU では .to() が a そのものを返すので、a はリーフのままです）。"
        "記録が有効なままだと `a -= ...` は a 自身の履歴の一部になってしまいますが、リーフとは履歴を持たないテンソルのことなので、PyTorch は勾配を必要とするリーフをその場で変更することを拒みます。"
        "ステージ 3 が更新を torch.no_grad() のもとで行うのはそのためです。",
    ),
    "fit_tensor.py:grad-not-summed": (
        "Without .sum(), grad_a holds one number per point, and `a -= ...` would have to put all of "
        "them into the single number a. An in-place operation keeps its tensor's shape, so torch "
        "stops at the first update. NumPy would not: in stage 1 the same slip makes a a new array, "
        "one intercept per point, and the run goes on without a word.",
        ".sum() がないと grad_a は点ごとに 1 つの数を持ち、`a -= ...` はそのすべてを 1 つの数 a に収めなければならなくなります。"
        "その場で行う演算はテンソルの形を変えないので、torch は最初の更新で止まります。"
        "NumPy は止まりません。"
        "ステージ 1 で同じ書き間違いをすると、a は点ごとに切片を持つ新しい配列になり、実行は何も言わずに続きます。",
    ),
    "fit_autograd.py:no-grad-reset": (
        "backward() adds each new gradient to what .grad already holds, so without the reset every "
        "step moves by the sum of all the gradients so far. Like a ball rolling without friction, the "
        "fit swings back and forth through the minimum instead of settling: the logged loss falls and "
        "rises again, far above the floor.",
        "backward() は新しい勾配を .grad にすでにある値へ足し込むので、リセットしないと、各ステップはそれまでのすべての勾配の和だけ動きます。"
        "摩擦のない斜面を転がる球のように、当てはめは落ち着かずに最小点を挟んで行ったり来たりし、ログの損失は下がってはまた上がり、下限よりずっと上にあります。",
    ),
    "fit_autograd.py:grad-set-to-zero": (
        "PyTorch checks every assignment to .grad: it must be None or a tensor of the same shape, "
        "dtype and device as a, so a Python float is refused at once, before the first backward(). "
        "None is also the cheaper reset: the next backward() then stores its gradient instead of "
        "adding it to zeros.",
        "PyTorch は .grad への代入をすべて確かめます。"
        "代入できるのは None か、a と同じ形・dtype・デバイスのテンソルだけなので、Python の float は最初の backward() の前に、その場で拒まれます。"
        "None はリセットとしても安上がりです。"
        "次の backward() は勾配を 0 に足し込むのではなく、そのまま格納するからです。",
    ),
    "fit_autograd.py:update-outside-no-grad": (
        "With recording on, `a -= ...` would become part of a's own history, and a leaf is a tensor "
        "with no history, so PyTorch refuses to change a leaf that requires grad in place. The run "
        "stops at the first update, just after step 0 is logged. Under torch.no_grad() the same line "
        "only changes a's number.",
        "記録が有効なままだと `a -= ...` は a 自身の履歴の一部になってしまいますが、リーフとは履歴を持たないテンソルのことなので、PyTorch は勾配を必要とするリーフをその場で変更することを拒みます。"
        "実行は、ステップ 0 がログに出た直後の最初の更新で止まります。"
        "torch.no_grad() のもとでなら、同じ行は a の値を変えるだけです。",
    ),
    "fit_autograd.py:rebind-outside-no-grad": (
        "Outside no_grad, `a = a - ...` is recorded: the new a is computed from the old one, so it is "
        "no leaf, and backward() leaves its .grad empty (PyTorch warns when it is read). The first "
        "update works, so steps 0 and 1 are logged; the second multiplies the rate by None and fails.",
        "no_grad の外では `a = a - ...` が記録されます。"
        "新しい a は古い a から計算されるのでリーフではなく、backward() はその .grad を空のままにします（それを読むと PyTorch が警告します）。"
        "最初の更新はうまくいくのでステップ 0 と 1 がログに出ますが、2 回目の更新で学習率に None を掛けることになり、失敗します。",
    ),
    "fit_newautograd.py:no-apply": (
        "Calling the class makes an instance of it and never runs forward, so the model's formula "
        "meets an object where it expects a tensor, and the multiplication fails before any loss is "
        "logged. PyTorch warns first that autograd functions should not be instantiated. apply is "
        "what runs forward and records the call in the result's grad_fn.",
        "クラスを呼び出すとそのインスタンスが作られるだけで forward は実行されないので、モデルの式はテンソルを期待する場所でそのオブジェクトに出会い、損失が一度もログに出ないうちに掛け算が失敗します。"
        "その前に PyTorch は、autograd の関数をインスタンス化すべきではないと警告します。"
        "forward を実行し、その呼び出しを結果の grad_fn に記録するのが apply です。",
    ),
    "fit_newautograd.py:save-a-number": (
        "save_for_backward keeps tensors only (or None), which it can check for in-place changes "
        "before backward reads them; a plain number is refused as soon as forward returns, before any "
        "loss is logged. Anything else backward needs goes on ctx as an attribute, say `ctx.scale = "
        "1.5`.",
        "save_for_backward が保存するのはテンソル（か None）だけで、backward が読む前にその場で変更されていないかを確かめられるのはそのためです。"
        "ただの数は、forward が戻った時点で、損失が一度もログに出ないうちに拒まれます。"
        "backward が必要とするそれ以外のものは、たとえば `ctx.scale = 1.5` のように、ctx の属性として持たせます。",
    ),
    "fit_newautograd.py:random-start": (
        "From the seeded random start of stages 2 and 3, c + d x reaches far beyond the fixed start's "
        "range, to about -4, where P3 is much steeper, so the first loss is far higher and so are its "
        "gradients. At this stage's rate the very first step overshoots, and the loss overflows at "
        "the next. The lesson starts near the answer, where this rate is safe.",
        "ステージ 2、3 と同じシード付きの乱数による初期値からだと、c + d x は固定の初期値の範囲を大きく越えて -4 ほどにまで及び、そこでは P3 の傾きがずっと急なので、最初の損失もその勾配もはるかに大きくなります。"
        "このステージの学習率では最初の一歩で行き過ぎ、次のステップで損失がオーバーフローします。"
        "レッスンは、この学習率が安全な、答えに近いところから始めているのです。",
    ),
    "fit_newautograd.py:backward-without-grad-output": (
        "Without grad_output, backward returns P3'(z) alone, as if d(loss)/d(P3) were 1 at every "
        "point: the gradients of c and d no longer depend on the error at all. They descend the sum "
        "of P3(c + d x) over the points instead of the loss, a cubic with no lowest point, so the fit "
        "runs off and the loss goes to nan.",
        "grad_output がないと backward は P3'(z) だけを返し、まるで d(loss)/d(P3) がどの点でも 1 であるかのようになります。"
        "c と d の勾配は、もはや誤差にまったく依存しません。"
        "c と d は損失ではなく、各点の P3(c + d x) の和、つまり最低点のない 3 次式を下っていくので、当てはめは暴走し、損失は nan になります。",
    ),
    "fit_nn.py:no-flatten": (
        "Without Flatten the prediction has shape (points, 1), and MSELoss broadcasts it against y's "
        "(points,) into a table of every prediction minus every target. PyTorch warns about the sizes "
        "but computes it: the loss starts some three orders of magnitude above the unbroken stage's, "
        "its gradients likewise, and at this rate the loss overflows within a few steps.",
        "Flatten がないと予測の形は (points, 1) になり、MSELoss はそれを y の (points,) とブロードキャストして、すべての予測からすべての目標値を引いた表を作ります。"
        "PyTorch は大きさの違いを警告しますが、そのまま計算します。"
        "損失は壊していないステージのおよそ 3 桁上から始まり、勾配も同様に大きく、この学習率では数ステップのうちに損失がオーバーフローします。",
    ),
    "fit_nn.py:mean-loss": (
        "MSELoss's default reduction is the mean, the sum divided by the number of points, and "
        "autograd divides every gradient by the same. At the sum's rate each step is that many times "
        "too small, so the fit is far from done when the run ends. The printed loss, a mean, even "
        "ends below the floor, while the Result's cubic, as a sum of squares, is far above it.",
        "MSELoss の reduction の既定値は平均、つまり和を点の数で割ったもので、autograd はすべての勾配も同じ数で割ります。"
        "和のための学習率のままでは一歩一歩がその倍数だけ小さすぎるので、実行が終わる時点で当てはめはまだ終わりからほど遠い状態です。"
        "表示される損失は平均なので下限より下で終わりさえしますが、Result の 3 次式は、二乗和で測ると下限よりはるかに上にあります。",
    ),
    "fit_optim.py:optimizer-in-loop": (
        "A new RMSprop has no running average yet, so every step is its first: the average is then 1 "
        "- alpha = 0.01 of the squared gradient, and each parameter moves by ten times the rate, "
        "whatever its gradient's size. Steps of a fixed size cannot settle, so the fit soon hops back "
        "and forth between the same points, and the log repeats one loss far above the floor.",
        "新しく作った RMSprop にはまだ移動平均がないので、どのステップもその最初のステップになります。"
        "そのとき平均は勾配の二乗の 1 - alpha = 0.01 倍で、各パラメータは勾配の大きさにかかわらず学習率の 10 倍だけ動きます。"
        "大きさの決まったステップでは落ち着けないので、当てはめはすぐに同じ点のあいだを行ったり来たりするようになり、ログは下限よりずっと上の同じ損失を繰り返します。",
    ),
    "fit_optim.py:sgd-at-rmsprop-rate": (
        "Plain SGD steps by the rate times the gradient, and this loss sums over the points, so its "
        "gradients are large: at RMSprop's rate, a thousand times stage 5's, every step overshoots "
        "the minimum by more than the last, and the loss overflows within ten steps. RMSprop divides "
        "each gradient by its own running size, which is why it can take a rate that SGD cannot.",
        "素朴な SGD は学習率に勾配を掛けた分だけ動き、この損失は点について和をとるので勾配が大きくなります。"
        "ステージ 5 の 1000 倍である RMSprop の学習率では、一歩ごとに前よりも大きく最小点を行き過ぎ、10 ステップのうちに損失がオーバーフローします。"
        "RMSprop は各勾配をその勾配自身の移動平均の大きさで割るので、SGD には使えない学習率を使えるのです。",
    ),
    "fit_custom_nn.py:no-super-init": (
        "Module.__init__ makes the tables in which a module keeps its parameters, buffers and "
        "submodules, and assigning a Parameter to self.a files it there. Without the call there is no "
        "table, so the first such assignment fails, before any step.",
        "Module.__init__ は、モジュールがパラメータ、バッファ、サブモジュールを保持する表を作ります。"
        "self.a に Parameter を代入すると、そこに登録されます。"
        "この呼び出しがないと表がないので、最初のそうした代入が、どのステップよりも前に失敗します。",
    ),
    "fit_custom_nn.py:parameters-in-a-list": (
        "A Module registers a Parameter only when it is assigned to one of the module's own "
        "attributes; inside a plain Python list it is invisible, so model.parameters() yields nothing "
        "and SGD refuses the empty list before any step. torch.nn.ParameterList is the list that "
        "registers what it holds.",
        "Module が Parameter を登録するのは、それがモジュール自身の属性に代入されたときだけです。"
        "ただの Python のリストの中にあるものは見えないので、model.parameters() は何も返さず、SGD はどのステップよりも前に空のリストを拒みます。"
        "入れたものを登録するリストは torch.nn.ParameterList です。",
    ),
    "fit_ctlflow_wshare.py:stage-7-rate": (
        "x^4 and x^5 reach about 97 and 306 at x = pi, so the loss is far steeper along e than along "
        "the cubic's coefficients. Stage 7's rate, a hundred times this stage's, overshoots from the "
        "first steps, and the loss overflows within a few dozen.",
        "x^4 と x^5 は x = pi でそれぞれ約 97 と 306 に達するので、損失は 3 次式の係数の方向よりも e の方向にずっと急峻です。"
        "このステージの 100 倍であるステージ 7 の学習率では最初のステップから行き過ぎ、数十ステップのうちに損失がオーバーフローします。",
    ),
    "fit_ctlflow_wshare.py:no-momentum": (
        "Without momentum each step is the rate times this step's gradient alone; with it, each step "
        "also carries on 0.9 of the last, so along a direction the gradient keeps pointing, steps "
        "grow to ten times as long. At a rate this small that is most of the progress: after the same "
        "steps, drawing the same degrees, the loss is still many times the unbroken stage's.",
        "モーメンタムがないと、各ステップは学習率にそのステップの勾配だけを掛けたものです。"
        "モーメンタムがあると各ステップは前のステップの 0.9 も引き継ぐので、勾配が同じ方向を指し続けるあいだ、ステップは 10 倍の長さまで伸びます。"
        "これほど小さい学習率では、それが進み具合の大部分です。"
        "同じステップ数のあと、同じ次数を引いていても、損失はまだ壊していないステージの何倍もあります。",
    ),
}
